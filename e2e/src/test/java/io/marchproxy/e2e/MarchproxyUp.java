package io.marchproxy.e2e;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** {@code ./marchproxy up} run as a user runs it, on free ports, with its own state directory. */
final class MarchproxyUp implements AutoCloseable {

  static final Path ROOT = Path.of(System.getProperty("marchproxy.root", "..")).toAbsolutePath();
  private static final Pattern PASSWORD = Pattern.compile("password: (\\S+)\\s+\\(shown once\\)");

  record Ports(int api, int xds, int xdsHttp, int postgres) {
    static Ports free() {
      return new Ports(freePort(), freePort(), freePort(), freePort());
    }
  }

  final Path home;
  final Ports ports;
  final Process process;
  final Path output;

  private MarchproxyUp(Path home, Ports ports, Process process, Path output) {
    this.home = home;
    this.ports = ports;
    this.process = process;
    this.output = output;
  }

  static MarchproxyUp start(Path home, Ports ports, Map<String, String> extraEnv)
      throws IOException {
    Files.createDirectories(home);
    Path output = Files.createTempFile(home, "up-", ".out");
    var pb = new ProcessBuilder(ROOT.resolve("marchproxy").toString(), "up");
    pb.directory(ROOT.toFile());
    pb.redirectErrorStream(true);
    pb.redirectOutput(output.toFile());
    Map<String, String> env = pb.environment();
    env.remove("MARCHPROXY_ADMIN_PASSWORD");
    env.remove("DATASOURCES_DEFAULT_URL");
    env.put("MARCHPROXY_HOME", home.toString());
    env.put("MARCHPROXY_BUILD", "never");
    env.put("MARCHPROXY_API_PORT", String.valueOf(ports.api()));
    env.put("MARCHPROXY_XDS_PORT", String.valueOf(ports.xds()));
    env.put("MARCHPROXY_XDS_HTTP_PORT", String.valueOf(ports.xdsHttp()));
    env.put("MARCHPROXY_PG_PORT", String.valueOf(ports.postgres()));
    env.putAll(extraEnv);
    return new MarchproxyUp(home, ports, pb.start(), output);
  }

  /** Waits for the "up" banner; fails with the script's output if it exits or times out. */
  MarchproxyUp awaitUp(Duration timeout) throws Exception {
    Instant deadline = Instant.now().plus(timeout);
    while (!output().contains("Press Ctrl-C to stop.")) {
      if (!process.isAlive()) {
        throw new AssertionError(
            "marchproxy up exited with " + process.exitValue() + ":\n" + output());
      }
      if (Instant.now().isAfter(deadline)) {
        throw new AssertionError("marchproxy up not up within " + timeout + ":\n" + output());
      }
      Thread.sleep(200);
    }
    return this;
  }

  String output() throws IOException {
    return Files.readString(output);
  }

  Optional<String> generatedAdminPassword() throws IOException {
    Matcher m = PASSWORD.matcher(output());
    return m.find() ? Optional.of(m.group(1)) : Optional.empty();
  }

  /** The script, everything it started, and the Postgres server (which is not its child). */
  List<ProcessHandle> processes() throws IOException {
    List<ProcessHandle> all = new ArrayList<>();
    all.add(process.toHandle());
    process.toHandle().descendants().forEach(all::add);
    postmasterPid().flatMap(ProcessHandle::of).ifPresent(all::add);
    return all;
  }

  Optional<Long> postmasterPid() throws IOException {
    Path pidFile = home.resolve("pg/postmaster.pid");
    if (!Files.exists(pidFile)) {
      return Optional.empty();
    }
    return Optional.of(Long.parseLong(Files.readAllLines(pidFile).getFirst().trim()));
  }

  /** Sends SIGTERM (what systemd and Ctrl-C's trap do) and returns the exit code. */
  int stop() throws Exception {
    process.destroy();
    if (!process.waitFor(90, TimeUnit.SECONDS)) {
      process.destroyForcibly();
      throw new AssertionError("marchproxy up did not stop within 90 s:\n" + output());
    }
    return process.exitValue();
  }

  int awaitExit(Duration timeout) throws Exception {
    if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
      throw new AssertionError("marchproxy up still running after " + timeout + ":\n" + output());
    }
    return process.exitValue();
  }

  @Override
  public void close() throws Exception {
    if (process.isAlive()) {
      stop();
    }
  }

  static Map<String, String> env(String... keyValues) {
    var m = new HashMap<String, String>();
    for (int i = 0; i < keyValues.length; i += 2) {
      m.put(keyValues[i], keyValues[i + 1]);
    }
    return m;
  }

  static int freePort() {
    try (var s = new ServerSocket(0)) {
      return s.getLocalPort();
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }
}
