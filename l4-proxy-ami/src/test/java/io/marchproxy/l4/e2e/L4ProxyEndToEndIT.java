package io.marchproxy.l4.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import io.marchproxy.l4.L4Proxy;
import io.marchproxy.l4.Settings;
import io.marchproxy.l4.ops.AccessLog;
import io.marchproxy.l4.testing.Backend;
import io.marchproxy.l4.testing.Client;
import io.marchproxy.l4.testing.Xds;
import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The L4 proxy with the real control plane: mappings and services created through the REST API
 * reach the proxy through xds-service, and traffic goes where they say. One stack for the class;
 * the tests run in order because the last one stops the control plane.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class L4ProxyEndToEndIT {

  private Stack stack;
  private Path stateDir;
  private String clusterId;
  private String clusterKey;
  private L4Proxy proxy;
  private int adminPort;
  private final List<String> accessLog = new CopyOnWriteArrayList<>();
  private final List<AutoCloseable> closing = new ArrayList<>();
  private final Backend[] backends = new Backend[4];
  private final Map<String, Integer> ports = new HashMap<>();

  @BeforeAll
  void up() throws Exception {
    Assumptions.assumeTrue(Stack.built(), "functions and xds-service jars are built (mvn package)");
    Path home = Files.createTempDirectory("l4-e2e");
    stateDir = home.resolve("l4");
    stack = new Stack(home).start();
    clusterId = stack.call("POST", "/api/v1/clusters", Map.of("name", "edge")).path("id").asText();
    clusterKey =
        stack
            .call("POST", "/api/v1/clusters/" + clusterId + "/keys", Map.of("name", "l4"))
            .path("key")
            .asText();
    for (int i = 0; i < backends.length; i++) {
      backends[i] = new Backend("b" + i);
      closing.add(backends[i]);
    }
    for (String m : List.of("app", "ha", "locked", "dns", "pp", "load")) {
      ports.put(m, Xds.freePort());
    }
    proxy = startProxy();
  }

  private L4Proxy startProxy() throws Exception {
    adminPort = Xds.freePort();
    Map<String, String> env = new HashMap<>();
    env.put("MARCHPROXY_CLUSTER_KEY", clusterKey);
    env.put("MARCHPROXY_API_URL", "http://127.0.0.1:" + stack.apiPort);
    env.put("MARCHPROXY_XDS_ADDRESS", "127.0.0.1:" + stack.xdsPort);
    env.put("MARCHPROXY_PROXY_NAME", "edge-1");
    env.put("MARCHPROXY_L4_ADMIN_BIND", "127.0.0.1");
    env.put("MARCHPROXY_L4_ADMIN_PORT", String.valueOf(adminPort));
    env.put("MARCHPROXY_L4_STATE_DIR", stateDir.toString());
    env.put("MARCHPROXY_L4_DRAIN_SECONDS", "2");
    env.put("MARCHPROXY_L4_CACHE_GRACE_MS", "1000");
    env.put("MARCHPROXY_L4_WORKERS", "2");
    L4Proxy p = new L4Proxy(Settings.fromEnv(env), AccessLog.to(accessLog::add));
    p.start();
    return p;
  }

  @AfterAll
  void down() throws Exception {
    if (proxy != null) {
      proxy.close();
    }
    for (AutoCloseable c : closing.reversed()) {
      c.close();
    }
    if (stack != null) {
      stack.close();
    }
  }

  private JsonNode service(
      String name, String protocol, List<Map<String, Object>> endpoints, Map<String, Object> extra)
      throws Exception {
    Map<String, Object> body =
        new HashMap<>(Map.of("name", name, "protocol", protocol, "endpoints", endpoints));
    body.putAll(extra);
    return stack.call("POST", "/api/v1/clusters/" + clusterId + "/services", body).path("service");
  }

  private void mapping(String name, String protocol, String service, Map<String, Object> extra)
      throws Exception {
    Map<String, Object> body =
        new HashMap<>(
            Map.of(
                "name",
                name,
                "protocol",
                protocol,
                "listenPort",
                ports.get(name),
                "service",
                service));
    body.putAll(extra);
    stack.call("POST", "/api/v1/clusters/" + clusterId + "/mappings", body);
  }

  private static Map<String, Object> ep(int port, int priority) {
    return Map.of("host", "127.0.0.1", "port", port, "priority", priority);
  }

  private String ask(String mapping, String text) throws IOException {
    try (Client c = new Client(ports.get(mapping))) {
      return c.ask(text);
    }
  }

  private HttpResponse<String> admin(String path) throws Exception {
    return HttpClient.newHttpClient()
        .send(
            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + adminPort + path)).build(),
            HttpResponse.BodyHandlers.ofString());
  }

  @Test
  @Order(1)
  void aMappingCreatedThroughTheApiMakesTheProxyAcceptAndReachTheBackend() throws Exception {
    service("app", "tcp", List.of(ep(backends[0].port(), 0)), Map.of());
    mapping("app", "tcp", "app", Map.of());

    await()
        .atMost(Duration.ofSeconds(60))
        .ignoreExceptions()
        .untilAsserted(() -> assertThat(ask("app", "hi")).isEqualTo("b0:hi"));
    assertThat(admin("/readyz").statusCode()).isEqualTo(200);
    assertThat(admin("/readyz").body())
        .contains("\"configSource\":\"xds\"")
        .contains("\"xdsConnected\":true");
    // the API sees the proxy registered as an l4 proxy, online
    JsonNode proxies = stack.call("GET", "/api/v1/proxies?clusterId=" + clusterId, null);
    assertThat(proxies.path("items").toString())
        .contains("\"name\":\"edge-1\"")
        .contains("\"kind\":\"l4\"");
    assertThat(admin("/metrics").body())
        .contains("marchproxy_l4_connections_total{listener=\"mapping-app\",verdict=\"proxied\"}");
  }

  @Test
  @Order(2)
  void changingEndpointsMovesNewConnectionsWhileEstablishedOnesContinue() throws Exception {
    try (Client established = new Client(ports.get("app"))) {
      assertThat(established.ask("1")).isEqualTo("b0:1");
      JsonNode svc =
          stack.call("GET", "/api/v1/clusters/" + clusterId + "/services?limit=100", null);
      String id = null;
      for (JsonNode s : svc.path("items")) {
        if (s.path("name").asText().equals("app")) {
          id = s.path("id").asText();
        }
      }
      stack.call(
          "PUT",
          "/api/v1/clusters/" + clusterId + "/services/" + id,
          Map.of(
              "name", "app", "protocol", "tcp", "endpoints", List.of(ep(backends[1].port(), 0))));
      await()
          .atMost(Duration.ofSeconds(30))
          .ignoreExceptions()
          .untilAsserted(() -> assertThat(ask("app", "2")).isEqualTo("b1:2"));
      assertThat(established.ask("3")).isEqualTo("b0:3");
    }
  }

  @Test
  @Order(3)
  void aKilledBackendIsEjectedAndTrafficFailsOverToTheNextPriority() throws Exception {
    service(
        "ha",
        "tcp",
        List.of(ep(backends[2].port(), 0), ep(backends[3].port(), 1)),
        Map.of(
            "healthCheck",
            Map.of(
                "type",
                "tcp",
                "intervalMs",
                1000,
                "timeoutMs",
                500,
                "healthyThreshold",
                1,
                "unhealthyThreshold",
                1)));
    mapping("ha", "tcp", "ha", Map.of());
    await()
        .atMost(Duration.ofSeconds(30))
        .ignoreExceptions()
        .untilAsserted(() -> assertThat(ask("ha", "x")).isEqualTo("b2:x"));

    backends[2].close();
    await()
        .atMost(Duration.ofSeconds(20))
        .ignoreExceptions()
        .untilAsserted(() -> assertThat(ask("ha", "y")).isEqualTo("b3:y"));
    assertThat(admin("/metrics").body())
        .containsPattern(
            "marchproxy_l4_cluster_endpoints\\{cluster=\"svc-ha\",state=\"(unhealthy|ejected)\"} 1");
  }

  @Test
  @Order(4)
  void aSourceOutsideTheMappingsAllowListIsRefused() throws Exception {
    mapping(
        "locked", "tcp", "app", Map.of("allowedSources", Map.of("cidrs", List.of("10.0.0.0/8"))));
    await()
        .atMost(Duration.ofSeconds(30))
        .untilAsserted(
            () ->
                assertThat(accessLog)
                    .anyMatch(l -> l.contains("mapping-locked") || probe("locked")));
    await()
        .atMost(Duration.ofSeconds(30))
        .untilAsserted(
            () ->
                assertThat(accessLog)
                    .anyMatch(
                        l ->
                            l.contains("\"listener\":\"mapping-locked\"")
                                && l.contains("\"verdict\":\"denied\"")));
    try (Client c = new Client(ports.get("locked"))) {
      assertThat(c.closedByPeer()).isTrue();
    }
  }

  /** Opens and closes one connection (so the proxy logs a verdict); false when nothing listens. */
  private boolean probe(String mapping) {
    try (Client c = new Client(ports.get(mapping))) {
      c.closedByPeer();
      return false;
    } catch (IOException e) {
      return false;
    }
  }

  @Test
  @Order(5)
  void udpRoundTrips() throws Exception {
    DatagramSocket echo = new DatagramSocket(0, InetAddress.getLoopbackAddress());
    closing.add(echo);
    Thread.ofVirtual()
        .start(
            () -> {
              byte[] buf = new byte[2048];
              while (!echo.isClosed()) {
                try {
                  DatagramPacket p = new DatagramPacket(buf, buf.length);
                  echo.receive(p);
                  byte[] reply =
                      ("udp:" + new String(p.getData(), 0, p.getLength(), StandardCharsets.UTF_8))
                          .getBytes(StandardCharsets.UTF_8);
                  echo.send(new DatagramPacket(reply, reply.length, p.getSocketAddress()));
                } catch (IOException e) {
                  return;
                }
              }
            });
    service("dns", "udp", List.of(ep(echo.getLocalPort(), 0)), Map.of());
    mapping("dns", "udp", "dns", Map.of());
    try (DatagramSocket client = new DatagramSocket()) {
      client.setSoTimeout(500);
      await()
          .atMost(Duration.ofSeconds(30))
          .ignoreExceptions()
          .untilAsserted(
              () -> {
                byte[] q = "query".getBytes(StandardCharsets.UTF_8);
                client.send(
                    new DatagramPacket(
                        q, q.length, new InetSocketAddress("127.0.0.1", ports.get("dns"))));
                DatagramPacket in = new DatagramPacket(new byte[2048], 2048);
                client.receive(in);
                assertThat(new String(in.getData(), 0, in.getLength(), StandardCharsets.UTF_8))
                    .isEqualTo("udp:query");
              });
    }
  }

  @Test
  @Order(6)
  void theProxyProtocolHeaderArrivesAtTheBackend() throws Exception {
    Backend pp = new Backend("pp");
    closing.add(pp);
    service("pp", "tcp", List.of(ep(pp.port(), 0)), Map.of());
    mapping("pp", "tcp", "pp", Map.of("sendProxyProtocol", "v1"));
    await()
        .atMost(Duration.ofSeconds(30))
        .ignoreExceptions()
        .untilAsserted(
            () -> {
              try (Client c = new Client(ports.get("pp"))) {
                c.send("hello".getBytes(StandardCharsets.US_ASCII));
                assertThat(c.readUntil("hello")).startsWith("pp:");
                String raw = pp.received.getLast().toString(StandardCharsets.US_ASCII);
                assertThat(raw)
                    .isEqualTo(
                        "PROXY TCP4 127.0.0.1 127.0.0.1 "
                            + c.socket().getLocalPort()
                            + " "
                            + ports.get("pp")
                            + "\r\nhello");
              }
            });
  }

  @Test
  @Order(7)
  void aConfigPushUnderLoadDropsNoEstablishedConnection() throws Exception {
    Backend load = new Backend("load");
    closing.add(load);
    service("load", "tcp", List.of(ep(load.port(), 0)), Map.of());
    mapping("load", "tcp", "load", Map.of());
    await()
        .atMost(Duration.ofSeconds(30))
        .ignoreExceptions()
        .untilAsserted(() -> assertThat(ask("load", "w")).isEqualTo("load:w"));

    AtomicBoolean running = new AtomicBoolean(true);
    AtomicInteger answered = new AtomicInteger();
    List<Throwable> failures = new CopyOnWriteArrayList<>();
    List<Thread> clients = new ArrayList<>();
    for (int i = 0; i < 8; i++) {
      int n = i;
      clients.add(
          Thread.ofVirtual()
              .start(
                  () -> {
                    try (Client c = new Client(ports.get("load"))) {
                      for (int k = 0; running.get(); k++) {
                        String msg = "c" + n + "-" + k;
                        String got = c.ask(msg);
                        if (!got.equals("load:" + msg)) {
                          throw new AssertionError("got " + got);
                        }
                        answered.incrementAndGet();
                      }
                    } catch (Throwable t) {
                      failures.add(t);
                    }
                  }));
    }
    // pushes while the clients talk: new mappings, a listener policy change, new endpoints
    for (int round = 0; round < 3; round++) {
      int extra = Xds.freePort();
      ports.put("extra" + round, extra);
      stack.call(
          "POST",
          "/api/v1/clusters/" + clusterId + "/mappings",
          Map.of(
              "name", "extra" + round, "protocol", "tcp", "listenPort", extra, "service", "load"));
      Thread.sleep(700);
    }
    JsonNode mappings =
        stack.call("GET", "/api/v1/clusters/" + clusterId + "/mappings?limit=100", null);
    for (JsonNode m : mappings.path("items")) {
      if (m.path("name").asText().equals("load")) {
        stack.call(
            "PUT",
            "/api/v1/clusters/" + clusterId + "/mappings/" + m.path("id").asText(),
            Map.of(
                "name",
                "load",
                "protocol",
                "tcp",
                "listenPort",
                ports.get("load"),
                "service",
                "load",
                "perSourceLimits",
                Map.of("maxConnections", 100)));
      }
    }
    await()
        .atMost(Duration.ofSeconds(30))
        .ignoreExceptions()
        .untilAsserted(() -> assertThat(ask("extra2", "e")).isEqualTo("load:e"));
    Thread.sleep(1000);
    running.set(false);
    for (Thread t : clients) {
      t.join();
    }
    assertThat(failures).isEmpty();
    assertThat(answered.get()).isGreaterThan(100);
  }

  @Test
  @Order(8)
  void aMappingTheProxyCannotBindIsNackedVisiblyAndItsRemovalRecovers() throws Exception {
    try (java.net.ServerSocket taken = new java.net.ServerSocket(0)) {
      ports.put("taken", taken.getLocalPort());
      mapping("taken", "tcp", "app", Map.of());
      await()
          .atMost(Duration.ofSeconds(30))
          .untilAsserted(
              () ->
                  assertThat(
                          stack
                              .call("GET", "/api/v1/proxies?clusterId=" + clusterId, null)
                              .path("items")
                              .toString())
                      .contains("mapping-taken")
                      .contains("cannot bind"));
      assertThat(admin("/readyz").body()).contains("mapping-taken");
      assertThat(ask("app", "meanwhile")).isEqualTo("b1:meanwhile"); // the previous config runs on

      JsonNode mappings =
          stack.call("GET", "/api/v1/clusters/" + clusterId + "/mappings?limit=100", null);
      for (JsonNode m : mappings.path("items")) {
        if (m.path("name").asText().equals("taken")) {
          stack.call(
              "DELETE",
              "/api/v1/clusters/" + clusterId + "/mappings/" + m.path("id").asText(),
              null);
        }
      }
      // Without the mapping the listeners are exactly what the proxy runs (content-derived
      // versions: the same version), so nothing is re-sent; the next change is applied again.
      ports.put("after", Xds.freePort());
      mapping("after", "tcp", "app", Map.of());
      await()
          .atMost(Duration.ofSeconds(30))
          .ignoreExceptions()
          .untilAsserted(() -> assertThat(ask("after", "ok")).isEqualTo("b1:ok"));
      assertThat(admin("/readyz").body()).contains("\"lastNack\":\"\"");
    }
  }

  @Test
  @Order(9)
  void withTheControlPlaneStoppedTheProxyKeepsServingAndARestartServesFromItsDiskCache()
      throws Exception {
    stack.stopXds();
    await().atMost(Duration.ofSeconds(20)).until(() -> !proxy.ads().connected());
    assertThat(ask("app", "still")).isEqualTo("b1:still");

    proxy.close();
    proxy = startProxy(); // the API is up, xds-service is not
    await()
        .atMost(Duration.ofSeconds(20))
        .ignoreExceptions()
        .until(() -> admin("/readyz").statusCode() == 200);
    assertThat(admin("/readyz").body())
        .contains("\"configSource\":\"disk\"")
        .contains("\"xdsConnected\":false");
    assertThat(ask("app", "cached")).isEqualTo("b1:cached");
  }
}
