package io.marchproxy.l4.tcp;

import static io.marchproxy.l4.testing.Xds.*;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.marchproxy.l4.testing.Client;
import io.marchproxy.l4.testing.Harness;
import io.marchproxy.l4.testing.Xds.Ep;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * What only the direct relay does on its own (decision 0308), on real sockets: the client read
 * while the backend connects, a backend that speaks first, a connect that times out while the
 * client's bytes and FIN wait, IPv6 on both sides, and a listener moved to the pipeline relay in
 * place. The rest of its behaviour is {@link TcpProxyTest} and {@link SplicedRelayTest}, which run
 * on it by default.
 */
class DirectRelayTest {

  private final Harness proxy = new Harness(Duration.ofSeconds(3), Map.of());
  private final List<AutoCloseable> closing = new ArrayList<>();

  @BeforeEach
  void epollOnly() {
    Assumptions.assumeTrue(proxy.transport.isEpoll(), "the direct relay needs epoll");
  }

  @AfterEach
  void stop() throws Exception {
    for (AutoCloseable c : closing.reversed()) {
      c.close();
    }
    proxy.close();
  }

  /** What a test backend does with each connection it accepts (on a thread of its own). */
  private interface Conversation {
    void with(Socket s) throws Exception;
  }

  /** Accepts on {@code server} until it is closed, each connection handled by {@code c}. */
  private static void serveEach(ServerSocket server, Conversation c) {
    Thread.ofVirtual()
        .start(
            () -> {
              while (!server.isClosed()) {
                try {
                  Socket s = server.accept();
                  Thread.ofVirtual()
                      .start(
                          () -> {
                            try (s) {
                              c.with(s);
                            } catch (Exception e) {
                              // the proxy went away; the test fails on the client's side
                            }
                          });
                } catch (IOException e) {
                  return;
                }
              }
            });
  }

  /** A backend that reads until the client's FIN, then answers {@code got <n>} and closes. */
  private ServerSocket answersAfterFin() throws IOException {
    ServerSocket server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    closing.add(server);
    serveEach(
        server,
        s -> {
          byte[] all = s.getInputStream().readAllBytes();
          s.getOutputStream().write(("got " + all.length).getBytes(StandardCharsets.UTF_8));
        });
    return server;
  }

  @Test
  void aBackendThatSpeaksFirstIsHeardBeforeTheClientSendsAnything() throws Exception {
    ServerSocket server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    closing.add(server);
    Thread.ofVirtual()
        .start(
            () -> {
              try (Socket s = server.accept()) {
                s.getOutputStream().write("220 ready\n".getBytes(StandardCharsets.UTF_8));
                byte[] line = new byte[5];
                int n = s.getInputStream().readNBytes(line, 0, 5);
                s.getOutputStream().write(("250 " + new String(line, 0, n)).getBytes());
              } catch (IOException e) {
                // the test fails on the client's side
              }
            });
    int port = freePort();
    proxy.apply(
        tcpListener("mapping-smtp", port, "svc-smtp").build(),
        edsCluster("svc-smtp", Cluster.LbPolicy.ROUND_ROBIN).build(),
        Ep.of(server.getLocalPort()));

    try (Client c = new Client(port)) {
      assertThat(c.readUntil("\n")).isEqualTo("220 ready\n");
      c.send("HELO\n".getBytes(StandardCharsets.UTF_8));
      assertThat(c.readUntil("\n")).isEqualTo("250 HELO\n");
    }
    await().untilAsserted(() -> assertThat(proxy.logged("proxied")).hasSize(1));
    assertThat(proxy.logged("proxied").getFirst())
        .contains("\"bytesFromClient\":5")
        .contains("\"bytesToClient\":19");
  }

  /** A backend whose accept queue is full drops SYNs: connecting to it hangs until the timeout. */
  private ServerSocket silentEndpoint() throws Exception {
    ServerSocket full = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
    closing.add(full);
    for (int i = 0; i < 3; i++) {
      SocketChannel ch = SocketChannel.open();
      ch.configureBlocking(false);
      ch.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), full.getLocalPort()));
      closing.add(ch);
    }
    Thread.sleep(200); // the handshakes that fit complete; later SYNs are dropped
    return full;
  }

  @Test
  void whatTheClientSentAheadStillReachesABackendThatAnsweredAndHalfClosedFirst() throws Exception {
    sendAheadToABackendThatAnswersAndHalfClosesFirst(proxy);
  }

  /**
   * The same where it can lose bytes: in a network namespace whose loopback has a 576-byte MTU the
   * proxy's send buffer to the backend starts at ~40 KiB, so the 60,000 bytes held aside are
   * written in part, and the rest is still held when the backend's answer and FIN arrive.
   */
  @Test
  void whatTheClientSentAheadSurvivesAPartialWriteBeforeTheBackendsEarlyFin() throws Exception {
    Assumptions.assumeTrue(
        "root".equals(System.getProperty("user.name")),
        "needs root: a network namespace of its own, with a small loopback MTU");
    String ns = "mp-l4-mtu-" + Long.toHexString(System.nanoTime());
    ip("netns", "add", ns);
    try {
      ip("-n", ns, "link", "set", "lo", "mtu", "576", "up");
      // Sockets belong to the namespace of the thread that makes them: the harness's event loops
      // start from this thread, the client and backend sockets are made on it.
      io.marchproxy.xdp.TestNamespaces.inside(
          ns,
          () -> {
            try (Harness inNamespace = new Harness(Duration.ofSeconds(3), Map.of())) {
              sendAheadToABackendThatAnswersAndHalfClosesFirst(inNamespace);
            }
            return null;
          });
    } finally {
      ip("netns", "del", ns);
    }
  }

  private static void ip(String... args) throws Exception {
    List<String> command = new ArrayList<>(List.of("ip"));
    command.addAll(List.of(args));
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor()).as("%s: %s", command, out).isZero();
  }

  private void sendAheadToABackendThatAnswersAndHalfClosesFirst(Harness proxy) throws Exception {
    ServerSocket full = silentEndpoint();
    // Answers at once and half-closes, then reads, through a small window, what the client sent.
    ServerSocket early = new ServerSocket();
    closing.add(early);
    early.setReceiveBufferSize(2048);
    early.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 50);
    List<Integer> received = new java.util.concurrent.CopyOnWriteArrayList<>();
    serveEach(
        early,
        s -> {
          s.getOutputStream().write("early".getBytes(StandardCharsets.UTF_8));
          s.shutdownOutput();
          Thread.sleep(300); // the answer and its FIN reach the client first
          received.add(s.getInputStream().readAllBytes().length);
        });
    int port = freePort();
    proxy.apply(
        tcpListener("mapping-e", port, "svc-e").build(),
        edsCluster("svc-e", Cluster.LbPolicy.ROUND_ROBIN)
            .setConnectTimeout(com.google.protobuf.Duration.newBuilder().setNanos(300_000_000))
            .build(),
        Ep.of(full.getLocalPort()),
        Ep.of(early.getLocalPort()));

    // Round robin: of two connections at least one waits for the silent endpoint first, so what
    // it sends and its FIN are held aside, and reach the backend only after its answer and FIN.
    byte[] ahead = new byte[60_000];
    java.util.Arrays.fill(ahead, (byte) 'x');
    for (int i = 0; i < 2; i++) {
      try (Client c = new Client(port)) {
        c.send(ahead);
        c.socket().shutdownOutput();
        assertThat(new String(c.socket().getInputStream().readAllBytes(), StandardCharsets.UTF_8))
            .isEqualTo("early");
      }
    }
    await().untilAsserted(() -> assertThat(received).containsExactly(60_000, 60_000));
    await().untilAsserted(() -> assertThat(proxy.logged("proxied")).hasSize(2));
  }

  @Test
  void whatTheClientSendsWhileTheBackendTimesOutGoesToTheNextEndpointWithItsFin() throws Exception {
    ServerSocket full = silentEndpoint();
    ServerSocket live = answersAfterFin();
    int port = freePort();
    proxy.apply(
        tcpListener("mapping-t", port, "svc-t").build(),
        edsCluster("svc-t", Cluster.LbPolicy.ROUND_ROBIN)
            .setConnectTimeout(com.google.protobuf.Duration.newBuilder().setNanos(300_000_000))
            .build(),
        Ep.of(full.getLocalPort()),
        Ep.of(live.getLocalPort()));

    // Round robin: of two connections at least one tries the silent endpoint first.
    for (int i = 0; i < 2; i++) {
      try (Client c = new Client(port)) {
        c.send("hello".getBytes(StandardCharsets.UTF_8));
        c.socket().shutdownOutput(); // the FIN, too, waits for a backend
        assertThat(new String(c.socket().getInputStream().readAllBytes(), StandardCharsets.UTF_8))
            .isEqualTo("got 5");
      }
    }
    assertThat(proxy.metrics.scrape())
        .containsPattern(
            "marchproxy_l4_cluster_connect_failures_total\\{cluster=\"svc-t\"} [12]\n");
    await().untilAsserted(() -> assertThat(proxy.logged("proxied")).hasSize(2));
  }

  @Test
  void anIpv6ListenerRelaysToAnIpv6Backend() throws Exception {
    ServerSocket server;
    try {
      server = new ServerSocket(0, 50, InetAddress.getByName("::1"));
    } catch (IOException noIpv6) {
      Assumptions.abort("no IPv6 loopback here: " + noIpv6.getMessage());
      return;
    }
    closing.add(server);
    Thread.ofVirtual()
        .start(
            () -> {
              try (Socket s = server.accept()) {
                byte[] all = s.getInputStream().readAllBytes();
                s.getOutputStream()
                    .write((s.getInetAddress().getHostAddress() + " " + all.length).getBytes());
              } catch (IOException e) {
                // the test fails on the client's side
              }
            });
    int port = freePort();
    proxy.apply(
        tcpListener("mapping-v6", port, "svc-v6").setAddress(address("::1", port)).build(),
        edsCluster("svc-v6", Cluster.LbPolicy.ROUND_ROBIN).build(),
        new Ep("::1", server.getLocalPort(), 0, 1));

    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress(InetAddress.getByName("::1"), port), 3000);
      s.setSoTimeout(5000);
      s.getOutputStream().write("four".getBytes());
      s.shutdownOutput();
      // the backend saw the proxy's IPv6 loopback address
      assertThat(new String(s.getInputStream().readAllBytes())).isEqualTo("0:0:0:0:0:0:0:1 4");
    }
    await().untilAsserted(() -> assertThat(proxy.logged("proxied")).hasSize(1));
    assertThat(proxy.logged("proxied").getFirst()).contains("\"client\":\"0:0:0:0:0:0:0:1:");
  }

  @Test
  void aListenerUpdatedToNeedAPipelineMovesItsNewConnectionsThereInPlace() throws Exception {
    ServerSocket backend = answersAfterFin();
    int port = freePort();
    var cluster = edsCluster("svc-u", Cluster.LbPolicy.ROUND_ROBIN).build();
    var cla = cla("svc-u", Ep.of(backend.getLocalPort()));
    proxy.apply(
        config(
            List.of(tcpListener("mapping-u", port, "svc-u").build()),
            List.of(cluster),
            List.of(cla)));
    Client before = new Client(port);
    closing.add(before);
    before.send("abc".getBytes(StandardCharsets.UTF_8));
    TcpListener listener = proxy.runtime.tcpListener("mapping-u");
    await().untilAsserted(() -> assertThat(listener.connections).hasSize(1));
    assertThat(listener.connections).singleElement().isInstanceOf(DirectConnection.class);

    // the same address, now accepting a PROXY header: only a pipeline reads one
    proxy.apply(
        config(
            List.of(
                tcpListener("mapping-u", port, "svc-u")
                    .addListenerFilters(acceptProxyProtocol())
                    .build()),
            List.of(cluster),
            List.of(cla)));
    try (Client after = new Client(port)) {
      after.send(
          "PROXY TCP4 192.0.2.7 127.0.0.1 4000 80\r\nxy".getBytes(StandardCharsets.US_ASCII));
      await().untilAsserted(() -> assertThat(listener.connections).hasSize(2));
      assertThat(listener.connections).filteredOn(FrontendHandler.class::isInstance).hasSize(1);
      after.socket().shutdownOutput();
      assertThat(new String(after.socket().getInputStream().readAllBytes())).isEqualTo("got 2");
    }
    // the connection from before the update is still relayed directly
    before.socket().shutdownOutput();
    assertThat(new String(before.socket().getInputStream().readAllBytes())).isEqualTo("got 3");
    await().untilAsserted(() -> assertThat(proxy.logged("proxied")).hasSize(2));
    assertThat(proxy.accessLog).anyMatch(l -> l.contains("\"source\":\"192.0.2.7:4000\""));
  }

  @Test
  void aClientResetIsItsErrorAndABackendResetIsNot() throws Exception {
    ServerSocket server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    closing.add(server);
    // the first connection's backend waits; the second's resets once it has read a byte
    Thread.ofVirtual()
        .start(
            () -> {
              try {
                Socket patient = server.accept();
                closing.add(patient);
                Socket resetting = server.accept();
                resetting.getInputStream().read();
                resetting.setSoLinger(true, 0);
                resetting.close();
              } catch (IOException e) {
                // the test fails on the client's side
              }
            });
    int port = freePort();
    proxy.apply(
        tcpListener("mapping-rst", port, "svc-rst").build(),
        edsCluster("svc-rst", Cluster.LbPolicy.ROUND_ROBIN).build(),
        Ep.of(server.getLocalPort()));

    Client resets = new Client(port);
    resets.send("x".getBytes(StandardCharsets.UTF_8));
    Thread.sleep(100); // relayed, both sockets open
    resets.socket().setSoLinger(true, 0);
    resets.close();
    await().untilAsserted(() -> assertThat(proxy.logged("client_error")).hasSize(1));

    try (Client c = new Client(port)) {
      c.send("y".getBytes(StandardCharsets.UTF_8));
      try {
        assertThat(c.socket().getInputStream().read()).isEqualTo(-1);
      } catch (java.net.SocketException reset) {
        // the proxy closed on the backend's reset; either end is fine here
      }
    }
    await().untilAsserted(() -> assertThat(proxy.logged("proxied")).hasSize(1));
    assertThat(proxy.logged("client_error")).hasSize(1);
  }
}
