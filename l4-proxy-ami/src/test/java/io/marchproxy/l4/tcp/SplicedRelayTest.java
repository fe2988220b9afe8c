package io.marchproxy.l4.tcp;

import static io.marchproxy.l4.testing.Xds.*;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy;
import io.marchproxy.l4.testing.Backend;
import io.marchproxy.l4.testing.Client;
import io.marchproxy.l4.testing.Harness;
import io.marchproxy.l4.testing.Xds.Ep;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Bulk directions move to splice(2) (epoll only): the bytes arrive intact both ways, a FIN is
 * passed on only after everything queued before it, counters and the access log stay exact, idle
 * timeouts still see spliced traffic, and a reset tears the relay down. Each transfer also runs
 * with splicing off, so both paths are held to the same behaviour.
 */
class SplicedRelayTest {

  private static final int MIB = 1024 * 1024;

  private Harness proxy;

  @AfterEach
  void stop() {
    if (proxy != null) {
      proxy.close();
    }
  }

  /** {@code mode}: "on" or "off" (splice), then optionally ",netty" for the pipeline relay. */
  private Harness start(String mode) {
    String[] m = mode.split(",");
    String splice = m[0];
    proxy =
        new Harness(
            Duration.ofSeconds(3),
            Map.of(
                "MARCHPROXY_L4_SPLICE",
                splice,
                "MARCHPROXY_L4_RELAY",
                m.length > 1 ? m[1] : "direct"));
    if ("on".equals(splice)) {
      Assumptions.assumeTrue(proxy.transport.isEpoll(), "splice(2) needs the epoll transport");
    }
    return proxy;
  }

  private static byte[] pattern(int size, int seed) {
    byte[] b = new byte[size];
    for (int i = 0; i < size; i++) {
      b[i] = (byte) ((i * 31 + seed) % 251);
    }
    return b;
  }

  private static String sha256(byte[] b) throws Exception {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
  }

  private String spliced(String listener) {
    return "marchproxy_l4_spliced_directions_total{listener=\"" + listener + "\"} ";
  }

  @ParameterizedTest
  @ValueSource(strings = {"on", "off", "on,netty", "off,netty"})
  void bulkCrossesBothWaysIntactAndTheFinComesAfterEverythingQueued(String mode) throws Exception {
    String splice = mode.split(",")[0];
    start(mode);
    byte[] up = pattern(8 * MIB, 7);
    byte[] down = pattern(8 * MIB, 3);
    try (ServerSocket server = new ServerSocket(0)) {
      int port = freePort();
      proxy.apply(
          tcpListener("mapping-bulk", port, "svc-bulk").build(),
          edsCluster("svc-bulk", Cluster.LbPolicy.ROUND_ROBIN).build(),
          Ep.of(server.getLocalPort()));
      // A slow reader: the client's FIN reaches the proxy while megabytes are still queued
      // before it; then the answer goes back and the backend closes.
      CompletableFuture<byte[]> received =
          CompletableFuture.supplyAsync(
              () -> {
                try (Socket s = server.accept()) {
                  InputStream in = s.getInputStream();
                  var all = new java.io.ByteArrayOutputStream();
                  byte[] buf = new byte[64 * 1024];
                  int n;
                  while ((n = in.read(buf)) > 0) {
                    all.write(buf, 0, n);
                    if (all.size() % (MIB / 2) < n) {
                      Thread.sleep(20);
                    }
                  }
                  s.getOutputStream().write(down);
                  return all.toByteArray();
                } catch (Exception e) {
                  throw new IllegalStateException(e);
                }
              },
              r -> Thread.ofVirtual().start(r));

      try (Client c = new Client(port)) {
        c.socket().setSoTimeout(20_000);
        c.send(up);
        c.socket().shutdownOutput();
        byte[] back = c.socket().getInputStream().readAllBytes();
        assertThat(back.length).isEqualTo(down.length);
        assertThat(sha256(back)).isEqualTo(sha256(down));
      }
      byte[] got = received.get(20, TimeUnit.SECONDS);
      assertThat(got.length).isEqualTo(up.length);
      assertThat(sha256(got)).isEqualTo(sha256(up));
    }
    await().untilAsserted(() -> assertThat(proxy.logged("proxied")).hasSize(1));
    assertThat(proxy.logged("proxied").getFirst())
        .contains("\"bytesFromClient\":" + 8 * MIB)
        .contains("\"bytesToClient\":" + 8 * MIB);
    assertThat(proxy.metrics.scrape())
        .contains(spliced("mapping-bulk") + ("on".equals(splice) ? 2 : 0))
        .contains(
            "marchproxy_l4_bytes_total{listener=\"mapping-bulk\",direction=\"from_client\"} "
                + 8 * MIB)
        .contains(
            "marchproxy_l4_bytes_total{listener=\"mapping-bulk\",direction=\"to_client\"} "
                + 8 * MIB);
  }

  @Test
  void aSplicedConnectionLivesWhileBytesMoveAndIsClosedOnceIdle() throws Exception {
    start("on");
    try (Backend a = new Backend("a")) {
      int port = freePort();
      Filter idle1s =
          Filter.newBuilder()
              .setName("envoy.filters.network.tcp_proxy")
              .setTypedConfig(
                  com.google.protobuf.Any.pack(
                      TcpProxy.newBuilder()
                          .setStatPrefix("idle")
                          .setCluster("svc-idle")
                          .setIdleTimeout(com.google.protobuf.Duration.newBuilder().setSeconds(1))
                          .build()))
              .build();
      proxy.apply(
          tcpListener("mapping-idle", port, idle1s).build(),
          edsCluster("svc-idle", Cluster.LbPolicy.ROUND_ROBIN).build(),
          Ep.of(a.port()));
      try (Client c = new Client(port)) {
        c.socket().setSoTimeout(20_000);
        // the echo comes back on another thread so neither side blocks the other
        CompletableFuture<Long> echoed =
            CompletableFuture.supplyAsync(
                () -> {
                  long total = 0;
                  byte[] buf = new byte[64 * 1024];
                  try (InputStream in = c.socket().getInputStream()) {
                    int n;
                    while ((n = in.read(buf)) > 0) {
                      total += n;
                    }
                  } catch (IOException e) {
                    // a reset ends it as well
                  }
                  return total;
                },
                r -> Thread.ofVirtual().start(r));
        byte[] chunk = pattern(256 * 1024, 1);
        OutputStream out = c.socket().getOutputStream();
        // 2.5 s of traffic in 100 ms steps: far longer than the idle timeout, never idle for it
        for (int i = 0; i < 25; i++) {
          out.write(chunk);
          out.flush();
          Thread.sleep(100);
        }
        assertThat(proxy.logged("idle_timeout")).isEmpty();
        assertThat(proxy.metrics.scrape()).contains(spliced("mapping-idle") + 2);
        // now silence: the proxy closes it
        long total = echoed.get(20, TimeUnit.SECONDS);
        assertThat(total).isGreaterThanOrEqualTo(25L * chunk.length);
      }
      await().untilAsserted(() -> assertThat(proxy.logged("idle_timeout")).hasSize(1));
      assertThat(proxy.logged("idle_timeout").getFirst())
          .contains("\"bytesFromClient\":" + 25 * 256 * 1024);
    }
  }

  @Test
  void aShapedListenerIsNeverSpliced() throws Exception {
    // gold, raised to 64 MB/s here so the test is quick: shaping needs every byte in the pipeline
    proxy =
        new Harness(
            Duration.ofSeconds(3),
            Map.of("MARCHPROXY_L4_SPLICE", "on", "MARCHPROXY_L4_BANDWIDTH_GOLD", "64000000"));
    try (Backend a = new Backend("a")) {
      int port = freePort();
      proxy.apply(
          tcpListener("mapping-gold", port, "svc-gold")
              .setMetadata(meta(Map.of("mapping", "gold", "bandwidthClass", "gold")))
              .build(),
          edsCluster("svc-gold", Cluster.LbPolicy.ROUND_ROBIN).build(),
          Ep.of(a.port()));
      try (Client c = new Client(port)) {
        byte[] up = pattern(2 * MIB, 9);
        c.send(up);
        c.socket().shutdownOutput();
        byte[] back = c.socket().getInputStream().readAllBytes();
        // the backend answers each chunk with "a:" + chunk
        assertThat(back.length).isGreaterThan(up.length);
      }
    }
    await().untilAsserted(() -> assertThat(proxy.logged("proxied")).hasSize(1));
    assertThat(proxy.logged("proxied").getFirst()).contains("\"bytesFromClient\":" + 2 * MIB);
    assertThat(proxy.metrics.scrape()).contains(spliced("mapping-gold") + 0);
  }

  @Test
  void aClientResetDuringASpliceClosesTheBackendAndLogsTheConnection() throws Exception {
    start("on");
    try (ServerSocket server = new ServerSocket(0)) {
      int port = freePort();
      proxy.apply(
          tcpListener("mapping-rst", port, "svc-rst").build(),
          edsCluster("svc-rst", Cluster.LbPolicy.ROUND_ROBIN).build(),
          Ep.of(server.getLocalPort()));
      Client c = new Client(port);
      try (Socket backend = server.accept()) {
        backend.setSoTimeout(20_000);
        // the backend reads a little, so the relay is spliced and stalls with data in flight
        c.send(pattern(2 * MIB, 5));
        byte[] some = backend.getInputStream().readNBytes(256 * 1024);
        assertThat(some).hasSize(256 * 1024);
        await()
            .untilAsserted(
                () -> assertThat(proxy.metrics.scrape()).contains(spliced("mapping-rst") + 1));
        c.socket().setSoLinger(true, 0);
        c.close(); // RST
        // the backend's side ends: what is queued may still come, then EOF or a reset
        InputStream in = backend.getInputStream();
        byte[] buf = new byte[64 * 1024];
        try {
          while (in.read(buf) >= 0) {
            // drain
          }
        } catch (IOException reset) {
          // also an end
        }
      }
      await().untilAsserted(() -> assertThat(proxy.accessLog).hasSize(1));
      assertThat(proxy.accessLog.getFirst()).contains("\"listener\":\"mapping-rst\"");
    }
  }
}
