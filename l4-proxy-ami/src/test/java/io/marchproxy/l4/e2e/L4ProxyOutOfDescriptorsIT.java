package io.marchproxy.l4.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.marchproxy.l4.testing.Backend;
import io.marchproxy.l4.testing.Client;
import io.marchproxy.l4.testing.Xds;
import io.marchproxy.l4.tools.StaticConfig;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The proxy's jar as a process under a file-descriptor limit ({@code prlimit}): once every
 * descriptor it may open is in use, accept(2) fails with EMFILE while a client waits in the
 * listening socket's queue. The proxy pauses accepting (one warning a second) instead of being
 * woken by epoll at every wait, and relays the waiting client once descriptors are free again.
 */
class L4ProxyOutOfDescriptorsIT {

  private static final int LIMIT = 256;

  @Test
  void outOfDescriptorsTheProxyPausesAcceptingAndRelaysTheWaitingClientOnceSomeAreFree()
      throws Exception {
    Path prlimit = Path.of("/usr/bin/prlimit");
    Path jar = Stack.ROOT.resolve("l4-proxy-ami/target/l4-proxy.jar");
    Assumptions.assumeTrue(Files.isExecutable(prlimit), "needs prlimit (util-linux)");
    Assumptions.assumeTrue(Files.isRegularFile(jar), "needs the packaged proxy");
    Path state = Files.createTempDirectory("l4-fd-limit");
    Path log = state.resolve("proxy.log");
    int port = Xds.freePort();
    int adminPort = Xds.freePort();
    List<SocketChannel> holding = new ArrayList<>();
    try (Backend b = new Backend("b")) {
      StaticConfig.main(
          new String[] {
            state.resolve("xds-cache.pb").toString(), "web=" + port + ":127.0.0.1:" + b.port()
          });
      ProcessBuilder pb =
          new ProcessBuilder(
              prlimit.toString(),
              "--nofile=" + LIMIT + ":" + LIMIT,
              "--",
              ProcessHandle.current().info().command().orElseThrow(),
              "--enable-native-access=ALL-UNNAMED",
              "--sun-misc-unsafe-memory-access=allow",
              "-Xmx64m",
              "-jar",
              jar.toString());
      pb.environment()
          .putAll(
              Map.of(
                  "MARCHPROXY_CLUSTER_KEY", "mpk_unused",
                  "MARCHPROXY_API_URL", "http://127.0.0.1:9",
                  "MARCHPROXY_XDS_ADDRESS", "127.0.0.1:9",
                  "MARCHPROXY_L4_STATE_DIR", state.toString(),
                  "MARCHPROXY_L4_ADMIN_BIND", "127.0.0.1",
                  "MARCHPROXY_L4_ADMIN_PORT", String.valueOf(adminPort),
                  "MARCHPROXY_L4_CACHE_GRACE_MS", "0",
                  "MARCHPROXY_L4_WORKERS", "1"));
      pb.redirectErrorStream(true).redirectOutput(log.toFile());
      Process proxy = pb.start();
      try {
        try (Client c = await().until(() -> connect(port), java.util.Objects::nonNull)) {
          assertThat(c.ask("before")).isEqualTo("b:before");
        }
        // Every descriptor the proxy may open is taken by a connection to its admin port (one
        // descriptor each); connections beyond wait in the kernel's accept queues.
        Path fds = Path.of("/proc/" + proxy.pid() + "/fd");
        // (one more each poll until the count is there: the count also moves with the proxy's own
        // short-lived sockets, e.g. its attempts to reach the absent control plane)
        await()
            .pollDelay(Duration.ZERO)
            .pollInterval(Duration.ofMillis(20))
            .atMost(Duration.ofSeconds(60))
            .until(
                () -> {
                  if (openDescriptors(fds) >= LIMIT) {
                    return true;
                  }
                  holding.add(SocketChannel.open(new InetSocketAddress("127.0.0.1", adminPort)));
                  return false;
                });
        assertThat(openDescriptors(fds)).isEqualTo(LIMIT);

        try (Client waiting = new Client(port)) {
          await()
              .untilAsserted(
                  () -> assertThat(Files.readString(log)).contains("pausing accepts for 1000 ms"));
          Thread.sleep(3000);
          long failures =
              Files.readString(log).lines().filter(l -> l.contains("accept failed")).count();
          assertThat(failures)
              .as("one warning per pause, not one per epoll wait")
              .isBetween(1L, 6L);

          for (SocketChannel ch : holding) {
            ch.close();
          }
          holding.clear();
          assertThat(waiting.ask("after")).isEqualTo("b:after");
        }
        assertThat(proxy.isAlive()).isTrue();
      } finally {
        proxy.destroy();
        proxy.waitFor();
      }
    } finally {
      for (SocketChannel ch : holding) {
        ch.close();
      }
    }
  }

  private static Client connect(int port) {
    try {
      return new Client(port);
    } catch (IOException notYet) {
      return null;
    }
  }

  private static long openDescriptors(Path fds) throws IOException {
    try (var s = Files.list(fds)) {
      return s.count();
    }
  }
}
