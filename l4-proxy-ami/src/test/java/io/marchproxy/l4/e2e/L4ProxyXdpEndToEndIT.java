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
import io.marchproxy.xdp.Budget;
import io.marchproxy.xdp.Protocol;
import io.marchproxy.xdp.TestNamespaces;
import io.marchproxy.xdp.XdpConfig;
import io.marchproxy.xdp.XdpMaps;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * Issue #6's "An L4 proxy test: limits set through the API reach the kernel map via xDS": the real
 * API and xds-service (processes from their jars), the proxy with its XDP program attached to a
 * veth in a namespace this test creates (root); a mapping's per-source limit created, changed and
 * the mapping deleted through the REST API become the SYN budget and the protected port in the
 * kernel's maps, read back through the pins.
 */
class L4ProxyXdpEndToEndIT {

  private static Optional<XdpConfig.SynGuard> synGuard(String iface) {
    try (XdpMaps maps = XdpMaps.openPinned(iface)) {
      return maps.config().synGuard();
    }
  }

  private static Map<Integer, Set<Protocol>> ports(String iface) {
    try (XdpMaps maps = XdpMaps.openPinned(iface)) {
      return maps.protectedPorts();
    }
  }

  @Test
  void perSourceLimitsSetThroughTheApiReachTheKernelMapViaXds() throws Exception {
    Assumptions.assumeTrue(Stack.built(), "functions and xds-service jars are built (mvn package)");
    Path home = Files.createTempDirectory("l4-xdp-e2e");
    int listenPort = Xds.freePort();
    int adminPort = Xds.freePort();
    try (Stack stack = new Stack(home).start();
        Backend backend = new Backend("b");
        TestNamespaces ns = new TestNamespaces()) {
      String clusterId =
          stack.call("POST", "/api/v1/clusters", Map.of("name", "edge")).path("id").asText();
      String clusterKey =
          stack
              .call("POST", "/api/v1/clusters/" + clusterId + "/keys", Map.of("name", "l4"))
              .path("key")
              .asText();
      stack.call(
          "POST",
          "/api/v1/clusters/" + clusterId + "/services",
          Map.of(
              "name",
              "db",
              "protocol",
              "tcp",
              "endpoints",
              java.util.List.of(Map.of("host", "127.0.0.1", "port", backend.port()))));
      Map<String, Object> mapping =
          new HashMap<>(
              Map.of(
                  "name",
                  "db",
                  "protocol",
                  "tcp",
                  "listenPort",
                  listenPort,
                  "service",
                  "db",
                  "perSourceLimits",
                  Map.of("connectionsPerSecond", 30, "maxConnections", 100)));
      stack.call("POST", "/api/v1/clusters/" + clusterId + "/mappings", mapping);
      String mappingId = null;
      for (JsonNode m :
          stack
              .call("GET", "/api/v1/clusters/" + clusterId + "/mappings?limit=100", null)
              .path("items")) {
        if (m.path("name").asText().equals("db")) {
          mappingId = m.path("id").asText();
        }
      }
      assertThat(mappingId).isNotNull();

      Map<String, String> env = new HashMap<>();
      env.put("MARCHPROXY_CLUSTER_KEY", clusterKey);
      env.put("MARCHPROXY_API_URL", "http://127.0.0.1:" + stack.apiPort);
      env.put("MARCHPROXY_XDS_ADDRESS", "127.0.0.1:" + stack.xdsPort);
      env.put("MARCHPROXY_PROXY_NAME", "edge-xdp");
      env.put("MARCHPROXY_L4_ADMIN_BIND", "127.0.0.1");
      env.put("MARCHPROXY_L4_ADMIN_PORT", String.valueOf(adminPort));
      env.put("MARCHPROXY_L4_STATE_DIR", home.resolve("l4").toString());
      env.put("MARCHPROXY_L4_DRAIN_SECONDS", "1");
      env.put("MARCHPROXY_L4_WORKERS", "1");
      env.put("MARCHPROXY_L4_XDP_INTERFACE", ns.serverIface);
      env.put("MARCHPROXY_L4_XDP_ON_STOP", "detach");
      L4Proxy proxy =
          new L4Proxy(
              Settings.fromEnv(env), AccessLog.off(), TestNamespaces.threadsIn(ns.serverNamespace));
      try {
        proxy.start();
        await()
            .atMost(Duration.ofSeconds(60))
            .ignoreExceptions()
            .untilAsserted(
                () -> {
                  assertThat(ports(ns.serverIface))
                      .isEqualTo(Map.of(listenPort, Set.of(Protocol.TCP)));
                  assertThat(synGuard(ns.serverIface).map(XdpConfig.SynGuard::synsPerSource))
                      .contains(new Budget(60, 60)); // 30/s x headroom 2
                });
        try (Client c = new Client(listenPort)) {
          assertThat(c.ask("hi")).isEqualTo("b:hi");
        }

        // The limit changed through the API: the kernel's budget follows.
        mapping.put("perSourceLimits", Map.of("connectionsPerSecond", 45, "maxConnections", 100));
        stack.call("PUT", "/api/v1/clusters/" + clusterId + "/mappings/" + mappingId, mapping);
        await()
            .atMost(Duration.ofSeconds(30))
            .ignoreExceptions()
            .untilAsserted(
                () ->
                    assertThat(synGuard(ns.serverIface).map(XdpConfig.SynGuard::synsPerSource))
                        .contains(new Budget(90, 90)));

        // The mapping deleted: its port is no longer protected.
        stack.call("DELETE", "/api/v1/clusters/" + clusterId + "/mappings/" + mappingId, null);
        await()
            .atMost(Duration.ofSeconds(30))
            .ignoreExceptions()
            .untilAsserted(() -> assertThat(ports(ns.serverIface)).isEmpty());
        assertThat(proxy.xdp().status().lastError()).isEmpty();
      } finally {
        proxy.close();
      }
      assertThat(Path.of("/sys/fs/bpf/marchproxy", ns.serverIface)).doesNotExist();
    }
  }
}
