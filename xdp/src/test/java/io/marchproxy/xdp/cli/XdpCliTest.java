package io.marchproxy.xdp.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.marchproxy.xdp.TestNamespaces;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The CLI as operators run it: bad arguments in-process (exit 2), and the whole attach, configure,
 * stats, detach cycle as separate `java` processes inside a namespace this test creates, which is
 * what a proxy restart looks like to the pinned maps.
 */
class XdpCliTest {

  record Result(int exit, String out, String err) {}

  private static Result runInProcess(String... args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int exit = new XdpCli(new PrintStream(out, true), new PrintStream(err, true)).run(args);
    return new Result(exit, out.toString(), err.toString());
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "",
        "frobnicate eth0",
        "attach",
        "attach --mode native",
        "attach eth0 --mode sideways",
        "configure eth0 --rate fast",
        "configure eth0 --rate",
        "configure eth0 --protect 70000",
        "configure eth0 --protect 443/sctp",
        "configure eth0 --deny not-a-cidr",
        "configure eth0 --new-sources 10/s",
        "stats eth0 --verbose",
        "detach eth0 extra",
        "stats this-name-is-far-too-long-for-linux"
      })
  void badArgumentsExitTwoWithUsageOnStderr(String line) {
    Result r = runInProcess(line.isEmpty() ? new String[0] : line.split(" "));

    assertThat(r.exit()).isEqualTo(2);
    assertThat(r.err()).contains("usage: marchproxy-xdp");
    assertThat(r.out()).isEmpty();
  }

  @Test
  void failuresExitOneWithTheReasonOnStderr() {
    Result stats = runInProcess("stats", "mpnosuch0");
    Result attach = runInProcess("attach", "mpnosuch0");

    assertThat(stats.exit()).isEqualTo(1);
    assertThat(stats.err()).contains("no XDP state pinned for interface mpnosuch0");
    assertThat(attach.exit()).isEqualTo(1);
    assertThat(attach.err()).contains("no network interface named mpnosuch0");
    assertThat(Path.of("/sys/fs/bpf/marchproxy/mpnosuch0")).doesNotExist();
  }

  @Test
  void withoutPrivilegesAttachSaysXdpIsUnavailableAndWhy() throws Exception {
    // The same CLI as the unprivileged user "nobody": what a proxy without CAP_BPF would see.
    Result r =
        cli(
            null,
            List.of("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"),
            "attach",
            "lo");

    assertThat(r.exit()).isEqualTo(1);
    assertThat(r.err()).contains("XDP unavailable (NOT_PERMITTED)", "CAP_BPF");
    assertThat(Path.of("/sys/fs/bpf/marchproxy/lo")).doesNotExist();
  }

  @Test
  void helpGoesToStdoutAndSucceeds() {
    Result r = runInProcess("--help");
    assertThat(r.exit()).isZero();
    assertThat(r.out()).contains("attach <iface>", "configure", "stats", "detach");
  }

  @Test
  void attachConfigureStatsDetachAcrossProcesses() throws Exception {
    try (TestNamespaces ns = new TestNamespaces()) {
      String iface = ns.serverIface;
      try {
        Result attach =
            cli(
                ns.serverNamespace,
                "attach",
                iface,
                "--rate",
                "100/s:200",
                "--protect",
                "443/tcp",
                "--deny",
                "192.0.2.0/24");
        assertThat(attach.exit()).as(attach.err()).isZero();
        assertThat(attach.out())
            .containsPattern("attached to " + iface + " in (native|generic) mode");
        assertThat(Path.of("/sys/fs/bpf/marchproxy", iface, "mp_counters")).exists();

        Result configure =
            cli(
                null,
                "configure",
                iface,
                "--syn-limit",
                "5/s:10",
                "--allow",
                "2001:db8::/32",
                "--protect",
                "53/udp",
                "--remove-deny",
                "192.0.2.0/24");
        assertThat(configure.exit()).as(configure.err()).isZero();
        assertThat(configure.out())
            .contains(
                "enabled rate=100/s:200 syn-guard=syn 5/s:10, new-sources 10000/s:20000 classify=on");

        // A second attach is a proxy restart: the pinned configuration and lists survive it.
        Result reattach = cli(ns.serverNamespace, "attach", iface);
        assertThat(reattach.exit()).as(reattach.err()).isZero();

        Result stats = cli(ns.serverNamespace, "stats", iface);
        assertThat(stats.exit()).as(stats.err()).isZero();
        assertThat(stats.out())
            .containsPattern("attached\\s+(native|generic)")
            .contains(
                "rate=100/s:200", "syn 5/s:10", "443/tcp", "53/udp", "2001:db8:0:0:0:0:0:0/32")
            .containsPattern("pass_not_ip\\s+\\d+")
            .doesNotContain("192.0.2.0/24");
        Result json = cli(null, "stats", iface, "--json");
        assertThat(json.out())
            .startsWith("{\"interface\":\"" + iface + "\"")
            .contains("\"drop_rate_limit\":{\"packets\":0");

        Result detach = cli(ns.serverNamespace, "detach", iface);
        assertThat(detach.exit()).as(detach.err()).isZero();
        assertThat(detach.out()).contains("detached from " + iface);
        assertThat(Path.of("/sys/fs/bpf/marchproxy", iface)).doesNotExist();
      } finally {
        cli(ns.serverNamespace, "detach", iface);
      }
    }
  }

  /** Runs the CLI as its own JVM, inside a network namespace when one is given. */
  private static Result cli(String namespace, String... args)
      throws IOException, InterruptedException {
    return cli(namespace, List.of(), args);
  }

  private static Result cli(String namespace, List<String> prefix, String... args)
      throws IOException, InterruptedException {
    List<String> command = new ArrayList<>(prefix);
    if (namespace != null) {
      command.addAll(List.of("nsenter", "--net=/run/netns/" + namespace));
    }
    command.add(ProcessHandle.current().info().command().orElse("java"));
    command.addAll(
        List.of(
            "--enable-native-access=ALL-UNNAMED",
            "-cp",
            Path.of("target/classes").toAbsolutePath().toString(),
            XdpCli.class.getName()));
    command.addAll(List.of(args));
    Path outFile = Files.createTempFile("xdp-cli", ".out");
    Path errFile = Files.createTempFile("xdp-cli", ".err");
    try {
      Process p =
          new ProcessBuilder(command)
              .redirectOutput(outFile.toFile())
              .redirectError(errFile.toFile())
              .start();
      if (!p.waitFor(60, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new IOException("timed out: " + command);
      }
      return new Result(p.exitValue(), Files.readString(outFile), Files.readString(errFile));
    } finally {
      Files.deleteIfExists(outFile);
      Files.deleteIfExists(errFile);
    }
  }
}
