package io.marchproxy.l4.tcp;

import static io.marchproxy.l4.testing.Xds.*;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.marchproxy.l4.config.ConfigRejected;
import io.marchproxy.l4.testing.Backend;
import io.marchproxy.l4.testing.Client;
import io.marchproxy.l4.testing.Harness;
import io.marchproxy.l4.testing.Xds.Ep;
import java.io.IOException;
import java.io.InputStream;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/** The TCP data path on real sockets: relay, policies, failover, PROXY protocol, updates, drain. */
class TcpProxyTest {

  private final Harness proxy = new Harness(Duration.ofSeconds(3), env());

  /** The proxy's settings, e.g. which relay carries plain listeners. */
  Map<String, String> env() {
    return Map.of();
  }

  /** The relay these settings put a plain listener's connections on. */
  Class<?> plainRelay() {
    return proxy.transport.isEpoll() ? DirectConnection.class : FrontendHandler.class;
  }

  private final List<AutoCloseable> closing = new java.util.ArrayList<>();

  @AfterEach
  void stop() throws Exception {
    for (AutoCloseable c : closing.reversed()) {
      c.close();
    }
    proxy.close();
  }

  private Backend backend(String name) throws IOException {
    Backend b = new Backend(name);
    closing.add(b);
    return b;
  }

  private Client client(int port) throws IOException {
    Client c = new Client(port);
    closing.add(c);
    return c;
  }

  @Test
  void relaysBothWaysAndLogsTheConnection() throws Exception {
    Backend a = backend("a");
    int port = freePort();
    proxy.apply(
        tcpListener("mapping-db", port, "svc-db").build(),
        edsCluster("svc-db", Cluster.LbPolicy.ROUND_ROBIN).build(),
        Ep.of(a.port()));

    try (Client c = new Client(port)) {
      assertThat(c.ask("hello")).isEqualTo("a:hello");
      assertThat(proxy.runtime.tcpListener("mapping-db").connections)
          .singleElement()
          .isInstanceOf(plainRelay());
      byte[] big = new byte[3 * 1024 * 1024];
      java.util.Arrays.fill(big, (byte) 'x');
      c.send(big);
      // the backend answers each chunk it reads with "a:" + the chunk
      long xs = 0;
      byte[] buf = new byte[65536];
      while (xs < big.length) {
        int n = c.socket().getInputStream().read(buf);
        assertThat(n).isPositive();
        for (int i = 0; i < n; i++) {
          xs += buf[i] == 'x' ? 1 : 0;
        }
      }
    }
    await().untilAsserted(() -> assertThat(proxy.logged("proxied")).hasSize(1));
    String line = proxy.logged("proxied").getFirst();
    assertThat(line)
        .contains("\"listener\":\"mapping-db\"")
        .contains("\"backend\":\"127.0.0.1:" + a.port() + "\"")
        .contains("\"bytesFromClient\":" + (5 + 3 * 1024 * 1024))
        .containsPattern("\"bytesToClient\":3145\\d{3}");
    assertThat(proxy.metrics.scrape())
        .contains("marchproxy_l4_connections_total{listener=\"mapping-db\",verdict=\"proxied\"} 1")
        .contains(
            "marchproxy_l4_bytes_total{direction=\"from_client\",listener=\"mapping-db\"}"
                .replace(
                    "direction=\"from_client\",listener=\"mapping-db\"",
                    "listener=\"mapping-db\",direction=\"from_client\""));
  }

  /**
   * Under epoll an IPv4 listener and an IPv4 endpoint get IPv4 sockets (not dual-stack IPv6 ones),
   * and both relay sockets have TCP keepalive on — the accepted one through the listening socket,
   * which Linux copies to each connection it accepts. Read from the kernel's own table: an IPv4
   * socket is a row of /proc/net/tcp (IPv6 ones are in tcp6), and an idle established socket with
   * keepalive has its keepalive timer pending (timer code 2).
   */
  @Test
  void relaySocketsAreIpv4ForIpv4AddressesAndKeepAlive() throws Exception {
    Assumptions.assumeTrue(proxy.transport.isEpoll(), "the socket family choice is epoll's");
    Backend a = backend("a");
    int port = freePort();
    proxy.apply(
        tcpListener("mapping-k", port, "svc-k").build(),
        edsCluster("svc-k", Cluster.LbPolicy.ROUND_ROBIN).build(),
        Ep.of(a.port()));
    try (Client c = new Client(port)) {
      assertThat(c.ask("hello")).isEqualTo("a:hello");
      int clientPort = c.socket().getLocalPort();
      await()
          .untilAsserted(
              () -> {
                List<String[]> rows = tcp4Established();
                // the proxy's accepted socket: local = the listener's port, remote = the client
                assertThat(rows)
                    .filteredOn(r -> port(r[1]) == port && port(r[2]) == clientPort)
                    .singleElement()
                    .satisfies(r -> assertThat(r[5]).startsWith("02:"));
                // the proxy's backend socket: remote = the backend's port
                assertThat(rows)
                    .filteredOn(r -> port(r[2]) == a.port())
                    .singleElement()
                    .satisfies(r -> assertThat(r[5]).startsWith("02:"));
              });
    }
  }

  /** Established rows of /proc/net/tcp, split on blanks. */
  private static List<String[]> tcp4Established() throws IOException {
    return java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/net/tcp")).stream()
        .skip(1)
        .map(l -> l.trim().split("\\s+"))
        .filter(r -> r[3].equals("01"))
        .toList();
  }

  private static int port(String hexAddress) {
    return Integer.parseInt(hexAddress.substring(hexAddress.indexOf(':') + 1), 16);
  }

  @Test
  void halfCloseReachesTheBackendAndTheAnswerStillComesBack() throws Exception {
    // A backend that answers only after the client finished sending (like `nc -q`).
    try (ServerSocket server = new ServerSocket(0)) {
      int port = freePort();
      proxy.apply(
          tcpListener("mapping-h", port, "svc-h").build(),
          edsCluster("svc-h", Cluster.LbPolicy.ROUND_ROBIN).build(),
          Ep.of(server.getLocalPort()));
      Thread t =
          Thread.ofVirtual()
              .start(
                  () -> {
                    try (var s = server.accept()) {
                      byte[] all = s.getInputStream().readAllBytes(); // until the FIN
                      s.getOutputStream()
                          .write(("got " + all.length).getBytes(StandardCharsets.UTF_8));
                    } catch (IOException e) {
                      throw new RuntimeException(e);
                    }
                  });
      try (Client c = new Client(port)) {
        c.send("12345".getBytes(StandardCharsets.UTF_8));
        c.socket().shutdownOutput();
        assertThat(new String(c.socket().getInputStream().readAllBytes(), StandardCharsets.UTF_8))
            .isEqualTo("got 5");
      }
      t.join();
    }
  }

  @Test
  void aSourceOutsideTheAllowListIsRefused() throws Exception {
    Backend a = backend("a");
    int allowed = freePort();
    int denied = freePort();
    Cluster c = edsCluster("svc-a", Cluster.LbPolicy.ROUND_ROBIN).build();
    proxy.apply(
        config(
            List.of(
                tcpListener(
                        "mapping-in",
                        allowed,
                        rbacAllow(true, "127.0.0.0/8"),
                        tcpProxy("in", "svc-a"))
                    .build(),
                tcpListener(
                        "mapping-out",
                        denied,
                        rbacAllow(true, "10.0.0.0/8", "2001:db8::/32"),
                        tcpProxy("out", "svc-a"))
                    .build()),
            List.of(c),
            List.of(cla("svc-a", Ep.of(a.port())))));

    assertThat(client(allowed).ask("x")).isEqualTo("a:x");
    assertThat(client(denied).closedByPeer()).isTrue();
    await().untilAsserted(() -> assertThat(proxy.logged("denied")).hasSize(1));
    assertThat(a.accepted.get()).isEqualTo(1);
  }

  @Test
  void aDownEndpointIsRetriedElsewhereThenEjected() throws Exception {
    Backend live = backend("live");
    int dead = freePort(); // nothing listens there
    int port = freePort();
    proxy.apply(
        tcpListener("mapping-r", port, "svc-r").build(),
        edsCluster("svc-r", Cluster.LbPolicy.ROUND_ROBIN).build(),
        Ep.of(dead),
        Ep.of(live.port()));

    for (int i = 0; i < 8; i++) {
      try (Client c = new Client(port)) {
        assertThat(c.ask("n" + i)).isEqualTo("live:n" + i);
      }
    }
    var cluster = proxy.runtime.cluster("svc-r");
    assertThat(cluster.healthCounts()).containsEntry("ejected", 1).containsEntry("healthy", 1);
    assertThat(proxy.metrics.scrape())
        .contains("marchproxy_l4_cluster_connect_failures_total{cluster=\"svc-r\"} 3");
  }

  @Test
  void trafficFailsOverToTheNextPriorityWhenTheFirstIsDown() throws Exception {
    Backend primary = backend("primary");
    Backend standby = backend("standby");
    int port = freePort();
    Cluster c =
        edsCluster("svc-p", Cluster.LbPolicy.ROUND_ROBIN)
            .addHealthChecks(tcpHealthCheck(100, 200))
            .build();
    proxy.apply(
        tcpListener("mapping-p", port, "svc-p").build(),
        c,
        Ep.of(primary.port(), 0),
        Ep.of(standby.port(), 1));

    assertThat(client(port).ask("1")).isEqualTo("primary:1");
    primary.close();
    await()
        .atMost(Duration.ofSeconds(10))
        .untilAsserted(
            () ->
                assertThat(proxy.runtime.cluster("svc-p").healthCounts())
                    .containsEntry("unhealthy", 1));
    try (Client again = new Client(port)) {
      assertThat(again.ask("2")).isEqualTo("standby:2");
    }
  }

  @Test
  void sendsAProxyProtocolV2HeaderToTheBackend() throws Exception {
    Backend a = backend("a");
    int port = freePort();
    Listener l =
        tcpListener("mapping-pp", port, "svc-pp")
            .setMetadata(meta(Map.of("mapping", "pp", "sendProxyProtocol", "v2")))
            .build();
    proxy.apply(l, edsCluster("svc-pp", Cluster.LbPolicy.ROUND_ROBIN).build(), Ep.of(a.port()));

    Client c = client(port);
    c.send("data".getBytes(StandardCharsets.US_ASCII));
    assertThat(c.readUntil("data")).startsWith("a:");
    byte[] raw = a.received.getFirst().toByteArray();
    byte[] signature = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};
    assertThat(java.util.Arrays.copyOf(raw, 12)).isEqualTo(signature);
    assertThat(raw[12]).isEqualTo((byte) 0x21); // v2, PROXY
    assertThat(raw[13]).isEqualTo((byte) 0x11); // TCP over IPv4
    int clientPort = c.socket().getLocalPort();
    assertThat(((raw[24] & 0xff) << 8) | (raw[25] & 0xff)).isEqualTo(clientPort); // source port
    assertThat(((raw[26] & 0xff) << 8) | (raw[27] & 0xff)).isEqualTo(port); // destination port
    assertThat(new String(raw, 28, raw.length - 28, StandardCharsets.US_ASCII)).isEqualTo("data");
  }

  @Test
  void acceptsAProxyProtocolV1HeaderAndJudgesTheDeclaredSource() throws Exception {
    Backend a = backend("a");
    int port = freePort();
    Listener l =
        tcpListener(
                "mapping-lb", port, rbacAllow(false, "203.0.113.0/24"), tcpProxy("lb", "svc-lb"))
            .addListenerFilters(acceptProxyProtocol())
            .setMetadata(meta(Map.of("sendProxyProtocol", "v1")))
            .build();
    proxy.apply(l, edsCluster("svc-lb", Cluster.LbPolicy.ROUND_ROBIN).build(), Ep.of(a.port()));

    Client ok = client(port);
    ok.send("PROXY TCP4 203.0.113.7 10.0.0.1 40000 443\r\n".getBytes(StandardCharsets.US_ASCII));
    ok.send("hi".getBytes(StandardCharsets.US_ASCII));
    assertThat(ok.readUntil("hi")).startsWith("a:");
    assertThat(a.received.getFirst().toString(StandardCharsets.US_ASCII))
        .startsWith("PROXY TCP4 203.0.113.7 10.0.0.1 40000 443\r\nhi");

    Client other = client(port);
    other.send(
        "PROXY TCP4 198.51.100.1 10.0.0.1 40000 443\r\nhi".getBytes(StandardCharsets.US_ASCII));
    assertThat(other.closedByPeer()).isTrue();

    Client garbage = client(port);
    garbage.send("GET / HTTP/1.1\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
    assertThat(garbage.closedByPeer()).isTrue();
    await()
        .untilAsserted(
            () -> {
              assertThat(proxy.logged("denied"))
                  .singleElement()
                  .asString()
                  .contains("\"source\":\"198.51.100.1:40000\"");
              assertThat(proxy.logged("bad_proxy_protocol")).hasSize(1);
            });
  }

  @Test
  void perSourceConcurrencyLimitRefusesTheExtraConnection() throws Exception {
    Backend a = backend("a");
    int port = freePort();
    Listener l =
        tcpListener("mapping-lim", port, "svc-lim")
            .setMetadata(meta(Map.of("perSourceLimits", Map.of("maxConnections", 2))))
            .build();
    proxy.apply(l, edsCluster("svc-lim", Cluster.LbPolicy.ROUND_ROBIN).build(), Ep.of(a.port()));

    Client one = client(port);
    Client two = client(port);
    assertThat(one.ask("1")).isEqualTo("a:1");
    assertThat(two.ask("2")).isEqualTo("a:2");
    assertThat(client(port).closedByPeer()).isTrue();
    one.close();
    await().untilAsserted(() -> assertThat(proxy.logged("proxied")).hasSize(1));
    assertThat(client(port).ask("3")).isEqualTo("a:3");
    assertThat(proxy.logged("source_over_limit")).hasSize(1);
  }

  @Test
  void idleConnectionsAreClosed() throws Exception {
    Backend a = backend("a");
    int port = freePort();
    Listener l = withIdleTimeout(tcpListener("mapping-idle", port, "svc-i").build(), "svc-i");
    proxy.apply(l, edsCluster("svc-i", Cluster.LbPolicy.ROUND_ROBIN).build(), Ep.of(a.port()));
    Client c = client(port);
    assertThat(c.ask("x")).isEqualTo("a:x");
    assertThat(c.closedByPeer()).isTrue();
    await().untilAsserted(() -> assertThat(proxy.logged("idle_timeout")).hasSize(1));
  }

  @Test
  void anIdleTimeoutSetByAnUpdateInPlaceClosesNewConnectionsOnly() throws Exception {
    Backend a = backend("a");
    int port = freePort();
    Listener without = tcpListener("mapping-idle2", port, "svc-i2").build(); // idle timeout 1 h
    Cluster c = edsCluster("svc-i2", Cluster.LbPolicy.ROUND_ROBIN).build();
    proxy.apply(without, c, Ep.of(a.port()));
    Client old = client(port);
    assertThat(old.ask("1")).isEqualTo("a:1");

    proxy.apply(withIdleTimeout(without, "svc-i2"), c, Ep.of(a.port()));
    Client fresh = client(port);
    assertThat(fresh.ask("2")).isEqualTo("a:2");
    assertThat(fresh.closedByPeer()).isTrue();
    await().untilAsserted(() -> assertThat(proxy.logged("idle_timeout")).hasSize(1));
    // the established connection keeps the policy it was accepted under
    assertThat(old.ask("3")).isEqualTo("a:3");
  }

  /** The listener with one tcp_proxy chain to {@code cluster} that closes after 300 ms idle. */
  private static Listener withIdleTimeout(Listener l, String cluster) {
    return Listener.newBuilder(l)
        .setFilterChains(
            0,
            io.envoyproxy.envoy.config.listener.v3.FilterChain.newBuilder()
                .addFilters(
                    io.envoyproxy.envoy.config.listener.v3.Filter.newBuilder()
                        .setName("envoy.filters.network.tcp_proxy")
                        .setTypedConfig(
                            com.google.protobuf.Any.pack(
                                io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy
                                    .newBuilder()
                                    .setStatPrefix("i")
                                    .setCluster(cluster)
                                    .setIdleTimeout(
                                        com.google.protobuf.Duration.newBuilder()
                                            .setNanos(300_000_000))
                                    .build()))))
        .build();
  }

  @Test
  void anUpdateKeepsEstablishedConnectionsAndMovesNewOnes() throws Exception {
    Backend a = backend("a");
    Backend b = backend("b");
    int port = freePort();
    Listener l = tcpListener("mapping-u", port, "svc-u").build();
    Cluster c = edsCluster("svc-u", Cluster.LbPolicy.ROUND_ROBIN).build();
    proxy.apply(l, c, Ep.of(a.port()));
    Client old = client(port);
    assertThat(old.ask("1")).isEqualTo("a:1");

    proxy.apply(l, c, Ep.of(b.port()));
    assertThat(client(port).ask("2")).isEqualTo("b:2");
    assertThat(old.ask("3")).isEqualTo("a:3");
  }

  @Test
  void aRemovedListenerDrainsItsConnectionsAndStopsAccepting() throws Exception {
    Backend a = backend("a");
    int port = freePort();
    Cluster c = edsCluster("svc-d", Cluster.LbPolicy.ROUND_ROBIN).build();
    proxy.apply(tcpListener("mapping-d", port, "svc-d").build(), c, Ep.of(a.port()));
    Client established = client(port);
    assertThat(established.ask("1")).isEqualTo("a:1");

    proxy.apply(config(List.of(), List.of(c), List.of(cla("svc-d", Ep.of(a.port())))));
    assertThatThrownBy(() -> new Client(port)).isInstanceOf(IOException.class);
    assertThat(established.ask("2")).isEqualTo("a:2"); // still served while draining
    assertThat(proxy.runtime.drainingListeners()).isEqualTo(1);
    // the drain deadline (3 s here) closes what is left
    await()
        .atMost(Duration.ofSeconds(10))
        .untilAsserted(() -> assertThat(proxy.logged("drained")).hasSize(1));
    assertThat(established.closedByPeer()).isTrue();
  }

  @Test
  void aPortThatCannotBeBoundIsRejectedAndTheRunningListenersStay() throws Exception {
    Backend a = backend("a");
    int port = freePort();
    Cluster c = edsCluster("svc-b", Cluster.LbPolicy.ROUND_ROBIN).build();
    proxy.apply(tcpListener("mapping-ok", port, "svc-b").build(), c, Ep.of(a.port()));
    try (ServerSocket taken = new ServerSocket(0)) {
      var bad = tcpListener("mapping-taken", taken.getLocalPort(), "svc-b").build();
      var other = freePort();
      assertThatThrownBy(
              () ->
                  proxy.apply(
                      config(
                          List.of(bad, tcpListener("mapping-new", other, "svc-b").build()),
                          List.of(c),
                          List.of(cla("svc-b", Ep.of(a.port()))))))
          .isInstanceOf(ConfigRejected.class)
          .hasMessageContaining("mapping-taken")
          .hasMessageContaining("cannot bind");
      assertThat(client(port).ask("still")).isEqualTo("a:still");
      assertThatThrownBy(() -> new Client(other)).isInstanceOf(IOException.class);
    }
  }

  @Test
  void routesTlsByServerNameWithoutTerminatingIt() throws Exception {
    Backend api = backend("api");
    Backend rest = backend("rest");
    int port = freePort();
    var tlsInspector =
        io.envoyproxy.envoy.config.listener.v3.ListenerFilter.newBuilder()
            .setName("envoy.filters.listener.tls_inspector")
            .setTypedConfig(
                com.google.protobuf.Any.pack(
                    io.envoyproxy.envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector
                        .getDefaultInstance()))
            .build();
    Listener l =
        Listener.newBuilder()
            .setName("mapping-sni")
            .setAddress(address("127.0.0.1", port))
            .addListenerFilters(tlsInspector)
            .addFilterChains(
                io.envoyproxy.envoy.config.listener.v3.FilterChain.newBuilder()
                    .setFilterChainMatch(
                        io.envoyproxy.envoy.config.listener.v3.FilterChainMatch.newBuilder()
                            .addServerNames("api.example.com"))
                    .addFilters(tcpProxy("sni", "svc-api")))
            .addFilterChains(
                io.envoyproxy.envoy.config.listener.v3.FilterChain.newBuilder()
                    .addFilters(tcpProxy("sni", "svc-rest")))
            .build();
    proxy.apply(
        config(
            List.of(l),
            List.of(
                edsCluster("svc-api", Cluster.LbPolicy.ROUND_ROBIN).build(),
                edsCluster("svc-rest", Cluster.LbPolicy.ROUND_ROBIN).build()),
            List.of(cla("svc-api", Ep.of(api.port())), cla("svc-rest", Ep.of(rest.port())))));

    assertThat(helloThrough(port, "api.example.com")).startsWith("api:");
    assertThat(helloThrough(port, "other.example.com")).isEqualTo("rest:");
    // the ClientHello reached the backend byte for byte
    assertThat(api.received.getFirst().toByteArray()[0]).isEqualTo((byte) 0x16);
  }

  /** Starts a real TLS handshake (JDK client) and returns the first bytes the backend answered. */
  /**
   * Sends a real TLS ClientHello for {@code serverName} (from the JDK's SSLEngine) and returns the
   * first 5 bytes of the answer. Nothing else reads the socket: an SSLSocket handshaking on it in
   * another thread raced this read for the backend's answer.
   */
  private static String helloThrough(int port, String serverName) throws Exception {
    var ctx = javax.net.ssl.SSLContext.getInstance("TLS");
    ctx.init(null, null, null);
    var engine = ctx.createSSLEngine(serverName, port);
    engine.setUseClientMode(true);
    var params = engine.getSSLParameters();
    params.setServerNames(List.of(new javax.net.ssl.SNIHostName(serverName)));
    engine.setSSLParameters(params);
    var hello = java.nio.ByteBuffer.allocate(engine.getSession().getPacketBufferSize());
    engine.beginHandshake();
    engine.wrap(java.nio.ByteBuffer.allocate(0), hello);
    hello.flip();
    try (var raw = new java.net.Socket("127.0.0.1", port)) {
      raw.setSoTimeout(5000);
      raw.getOutputStream().write(hello.array(), 0, hello.limit());
      InputStream in = raw.getInputStream();
      byte[] buf = new byte[5];
      int n = in.readNBytes(buf, 0, 5);
      return new String(buf, 0, n, StandardCharsets.US_ASCII);
    }
  }
}
