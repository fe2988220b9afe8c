package io.marchproxy.l4.udp;

import static io.marchproxy.l4.testing.Xds.*;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.marchproxy.l4.testing.Harness;
import io.marchproxy.l4.testing.Xds.Ep;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** UDP sessions on real sockets: round trips per client, idle expiry, the access log. */
class UdpProxyTest {

  @Test
  void datagramsRoundTripPerClientAndSessionsExpire() throws Exception {
    try (Harness proxy = new Harness(Duration.ofSeconds(1), Map.of());
        DatagramSocket backend = new DatagramSocket(0, InetAddress.getLoopbackAddress());
        DatagramSocket c1 = new DatagramSocket();
        DatagramSocket c2 = new DatagramSocket()) {
      Thread echo =
          Thread.ofVirtual()
              .start(
                  () -> {
                    byte[] buf = new byte[2048];
                    while (!backend.isClosed()) {
                      try {
                        DatagramPacket p = new DatagramPacket(buf, buf.length);
                        backend.receive(p);
                        byte[] reply =
                            ("echo:"
                                    + new String(
                                        p.getData(), 0, p.getLength(), StandardCharsets.UTF_8))
                                .getBytes(StandardCharsets.UTF_8);
                        backend.send(new DatagramPacket(reply, reply.length, p.getSocketAddress()));
                      } catch (java.io.IOException e) {
                        return;
                      }
                    }
                  });
      int port = freePort();
      proxy.apply(
          config(
              List.of(udpListener("mapping-dns", port, "svc-dns", 1)),
              List.of(edsCluster("svc-dns", Cluster.LbPolicy.ROUND_ROBIN).build()),
              List.of(cla("svc-dns", Ep.of(backend.getLocalPort())))));

      assertThat(roundTrip(c1, port, "one")).isEqualTo("echo:one");
      assertThat(roundTrip(c2, port, "two")).isEqualTo("echo:two");
      assertThat(roundTrip(c1, port, "three")).isEqualTo("echo:three");
      assertThat(proxy.metrics.scrape())
          .contains("marchproxy_l4_connections_active{listener=\"mapping-dns\"} 2");

      // idle for longer than the 1 s timeout: both sessions end and are logged
      await()
          .atMost(Duration.ofSeconds(5))
          .untilAsserted(() -> assertThat(proxy.logged("idle_timeout")).hasSize(2));
      assertThat(proxy.logged("idle_timeout"))
          .anySatisfy(
              l ->
                  assertThat(l)
                      .contains("\"protocol\":\"udp\"")
                      .contains("\"bytesFromClient\":8")
                      .contains("\"bytesToClient\":18"));
      backend.close();
      echo.join();
    }
  }

  private static String roundTrip(DatagramSocket s, int port, String text) throws Exception {
    byte[] out = text.getBytes(StandardCharsets.UTF_8);
    s.setSoTimeout(3000);
    s.send(new DatagramPacket(out, out.length, new InetSocketAddress("127.0.0.1", port)));
    byte[] buf = new byte[2048];
    DatagramPacket in = new DatagramPacket(buf, buf.length);
    s.receive(in);
    return new String(in.getData(), 0, in.getLength(), StandardCharsets.UTF_8);
  }
}
