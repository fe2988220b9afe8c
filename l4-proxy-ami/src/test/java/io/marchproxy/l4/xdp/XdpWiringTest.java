package io.marchproxy.l4.xdp;

import static io.marchproxy.l4.testing.Xds.cla;
import static io.marchproxy.l4.testing.Xds.config;
import static io.marchproxy.l4.testing.Xds.edsCluster;
import static io.marchproxy.l4.testing.Xds.meta;
import static io.marchproxy.l4.testing.Xds.tcpListener;
import static io.marchproxy.l4.testing.Xds.udpListener;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.marchproxy.l4.L4Proxy;
import io.marchproxy.l4.Settings;
import io.marchproxy.l4.config.ProxyConfig;
import io.marchproxy.l4.ops.AccessLog;
import io.marchproxy.l4.testing.Backend;
import io.marchproxy.l4.testing.Client;
import io.marchproxy.l4.testing.Xds;
import io.marchproxy.xdp.Budget;
import io.marchproxy.xdp.Cidr;
import io.marchproxy.xdp.Protocol;
import io.marchproxy.xdp.TestNamespaces;
import io.marchproxy.xdp.XdpConfig;
import io.marchproxy.xdp.XdpMaps;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The L4 proxy with its XDP fast path: the derivation of the maps from a config (no kernel), the
 * real program attached to a veth in a namespace this test creates (root), configs applied through
 * the runtime reaching the kernel maps (read back through the pins), counters of real packets on
 * /metrics, a clean detach; and a proxy whose interface does not exist serving on without XDP.
 */
class XdpWiringTest {

  private static Listener tcp(String name, int port, double perSourceCps) {
    Listener.Builder l = tcpListener("mapping-" + name, port, "svc-" + name);
    if (perSourceCps > 0) {
      l.setMetadata(
          meta(
              Map.of(
                  "perSourceLimits",
                  Map.of("connectionsPerSecond", perSourceCps, "maxConnections", 200))));
    }
    return l.build();
  }

  private static Cluster cluster(String name) {
    return edsCluster("svc-" + name, Cluster.LbPolicy.ROUND_ROBIN).build();
  }

  private static ProxyConfig configOf(List<Listener> listeners, int backendPort) throws Exception {
    List<Cluster> clusters = new java.util.ArrayList<>();
    List<io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment> endpoints =
        new java.util.ArrayList<>();
    for (Listener l : listeners) {
      String name = l.getName().substring("mapping-".length());
      clusters.add(cluster(name));
      endpoints.add(cla("svc-" + name, Xds.Ep.of(backendPort)));
    }
    return config(listeners, clusters, endpoints);
  }

  @Test
  void thePlanFollowsTheListeners() throws Exception {
    XdpSettings settings =
        XdpSettings.fromEnv(
            Map.of(
                "MARCHPROXY_L4_XDP_INTERFACE", "eth0",
                "MARCHPROXY_L4_XDP_PACKET_RATE", "5000/s:10000",
                "MARCHPROXY_L4_XDP_DENY", "198.51.100.0/24, 2001:db8::/32"));
    int a = Xds.freePort();
    int b = Xds.freePort();
    XdpPlan plan =
        XdpPlan.of(
            configOf(
                List.of(
                    tcp("a", a, 50), tcp("b", b, 25.5), udpListener("mapping-c", a, "svc-c", 60)),
                1),
            settings);
    assertThat(plan.ports())
        .isEqualTo(Map.of(a, Set.of(Protocol.TCP, Protocol.UDP), b, Set.of(Protocol.TCP)));
    // (50 + 25.5) * headroom 2, rounded up
    assertThat(plan.config().synGuard())
        .contains(new XdpConfig.SynGuard(new Budget(151, 151), new Budget(10_000, 20_000)));
    assertThat(plan.config().packets()).contains(new Budget(5000, 10_000));
    assertThat(plan.config().enabled()).isTrue();
    assertThat(plan.deny())
        .containsExactly(Cidr.parse("198.51.100.0/24"), Cidr.parse("2001:db8::/32"));

    XdpPlan unlimited = XdpPlan.of(configOf(List.of(tcp("a", a, 50), tcp("b", b, 0)), 1), settings);
    assertThat(unlimited.config().synGuard()).isEmpty();
    assertThat(unlimited.synGuardOffBecause())
        .contains("no perSourceLimits.connectionsPerSecond on mapping-b");
    assertThat(XdpSettings.fromEnv(Map.of()).enabled()).isFalse();
  }

  private static Settings settings(Path state, int adminPort, Map<String, String> extra) {
    Map<String, String> env = new HashMap<>();
    env.put("MARCHPROXY_CLUSTER_KEY", "mpk_unused");
    env.put("MARCHPROXY_API_URL", "http://127.0.0.1:9");
    env.put("MARCHPROXY_XDS_ADDRESS", "127.0.0.1:9");
    env.put("MARCHPROXY_L4_STATE_DIR", state.toString());
    env.put("MARCHPROXY_L4_ADMIN_BIND", "127.0.0.1");
    env.put("MARCHPROXY_L4_ADMIN_PORT", String.valueOf(adminPort));
    env.put("MARCHPROXY_L4_CACHE_GRACE_MS", "600000");
    env.put("MARCHPROXY_L4_DRAIN_SECONDS", "1");
    env.put("MARCHPROXY_L4_WORKERS", "1");
    env.putAll(extra);
    return Settings.fromEnv(env);
  }

  private static String get(int port, String path) throws Exception {
    HttpResponse<String> r =
        HttpClient.newHttpClient()
            .send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).build(),
                HttpResponse.BodyHandlers.ofString());
    return r.body();
  }

  private static long metric(String metrics, String line) {
    Matcher m = Pattern.compile("(?m)^" + Pattern.quote(line) + " (\\d+)$").matcher(metrics);
    assertThat(m.find()).as("%s in%n%s", line, metrics).isTrue();
    return Long.parseLong(m.group(1));
  }

  @Test
  void attachesWritesTheMapsFromEachAppliedConfigExportsCountersAndDetaches() throws Exception {
    Path state = Files.createTempDirectory("l4-xdp");
    int adminPort = Xds.freePort();
    int tcpPort = Xds.freePort();
    int udpPort = Xds.freePort();
    try (TestNamespaces ns = new TestNamespaces()) {
      Path pins = Path.of("/sys/fs/bpf/marchproxy", ns.serverIface);
      L4Proxy proxy =
          new L4Proxy(
              settings(
                  state,
                  adminPort,
                  Map.of(
                      "MARCHPROXY_L4_XDP_INTERFACE", ns.serverIface,
                      "MARCHPROXY_L4_XDP_ON_STOP", "detach",
                      "MARCHPROXY_L4_XDP_DENY", "192.0.2.0/24")),
              AccessLog.off(),
              TestNamespaces.threadsIn(ns.serverNamespace));
      try (Backend backend = new Backend("b")) {
        proxy.start();
        assertThat(proxy.xdp().status().state()).isEqualTo(FastPath.State.ATTACHED);
        assertThat(get(adminPort, "/readyz"))
            .contains("\"xdp\":{\"state\":\"attached\",\"interface\":\"" + ns.serverIface)
            .contains("\"mode\":\"native\"");
        String scrape = get(adminPort, "/metrics");
        assertThat(metric(scrape, "marchproxy_l4_xdp_attached{mode=\"native\"}")).isEqualTo(1);
        assertThat(metric(scrape, "marchproxy_l4_xdp_attached{mode=\"generic\"}")).isZero();

        // A config with a TCP mapping (per-source limit) and a UDP mapping.
        proxy
            .runtime()
            .apply(
                configOf(
                    List.of(
                        tcp("db", tcpPort, 40), udpListener("mapping-dns", udpPort, "svc-dns", 60)),
                    backend.port()));
        proxy.xdp().sync();
        try (XdpMaps maps = XdpMaps.openPinned(ns.serverIface)) {
          assertThat(maps.protectedPorts())
              .isEqualTo(Map.of(tcpPort, Set.of(Protocol.TCP), udpPort, Set.of(Protocol.UDP)));
          XdpConfig c = maps.config();
          assertThat(c.enabled()).isTrue();
          assertThat(c.synGuard())
              .contains(new XdpConfig.SynGuard(new Budget(80, 80), new Budget(10_000, 20_000)));
          assertThat(c.packets()).isEmpty();
          assertThat(maps.denyList()).containsExactly(Cidr.parse("192.0.2.0/24"));
        }
        // The proxy still proxies on the TCP mapping.
        try (Client client = new Client(tcpPort)) {
          assertThat(client.ask("hello")).isEqualTo("b:hello");
        }

        // Real packets from the other namespace to the protected UDP port: counted as pass.
        TestNamespaces.inside(
            ns.clientNamespace,
            () -> {
              try (DatagramChannel ch = DatagramChannel.open()) {
                for (int i = 0; i < 5; i++) {
                  ch.send(
                      ByteBuffer.wrap(("q" + i).getBytes()),
                      new InetSocketAddress(TestNamespaces.SERVER_ADDRESS, udpPort));
                }
              }
              return null;
            });
        await()
            .untilAsserted(
                () ->
                    assertThat(
                            metric(
                                get(adminPort, "/metrics"),
                                "marchproxy_l4_xdp_packets_total{counter=\"pass\",kind=\"verdict\"}"))
                        .isEqualTo(5));
        scrape = get(adminPort, "/metrics");
        assertThat(metric(scrape, "marchproxy_l4_xdp_protected_ports")).isEqualTo(2);
        assertThat(scrape)
            .contains("marchproxy_l4_xdp_bytes_total{counter=\"pass\",kind=\"verdict\"}");

        // The UDP mapping removed and the TCP one without a per-source limit: the port is
        // unprotected and the SYN guard goes off.
        proxy.runtime().apply(configOf(List.of(tcp("db", tcpPort, 0)), backend.port()));
        proxy.xdp().sync();
        try (XdpMaps maps = XdpMaps.openPinned(ns.serverIface)) {
          assertThat(maps.protectedPorts()).isEqualTo(Map.of(tcpPort, Set.of(Protocol.TCP)));
          assertThat(maps.config().synGuard()).isEmpty();
        }
        assertThat(proxy.xdp().status().configsApplied()).isEqualTo(2);
        assertThat(proxy.xdp().status().lastError()).isEmpty();
      } finally {
        proxy.close();
      }
      // Detached on stop (MARCHPROXY_L4_XDP_ON_STOP=detach): no program, no pins left.
      assertThat(pins).doesNotExist();
      assertThat(
              TestNamespaces.inside(
                  ns.serverNamespace,
                  () -> io.marchproxy.xdp.XdpProgram.attachedMode(ns.serverIface)))
          .isEqualTo(Optional.empty());
      assertThat(proxy.xdp().status().state()).isEqualTo(FastPath.State.OFF);
    }
  }

  @Test
  void withoutAUsableInterfaceTheProxyServesAndSaysXdpIsOff() throws Exception {
    Path state = Files.createTempDirectory("l4-xdp");
    int adminPort = Xds.freePort();
    int tcpPort = Xds.freePort();
    L4Proxy proxy =
        new L4Proxy(
            settings(state, adminPort, Map.of("MARCHPROXY_L4_XDP_INTERFACE", "mp-no-such0")),
            AccessLog.off());
    try (Backend backend = new Backend("b")) {
      proxy.start();
      proxy.runtime().apply(configOf(List.of(tcp("db", tcpPort, 40)), backend.port()));
      proxy.xdp().sync();
      try (Client client = new Client(tcpPort)) {
        assertThat(client.ask("hello")).isEqualTo("b:hello");
      }
      assertThat(proxy.xdp().status().state()).isEqualTo(FastPath.State.FAILED);
      assertThat(get(adminPort, "/readyz"))
          .contains("\"xdp\":{\"state\":\"failed\",\"interface\":\"mp-no-such0\"")
          .contains("no network interface named mp-no-such0");
      String scrape = get(adminPort, "/metrics");
      assertThat(metric(scrape, "marchproxy_l4_xdp_attached{mode=\"native\"}")).isZero();
      assertThat(metric(scrape, "marchproxy_l4_xdp_attached{mode=\"generic\"}")).isZero();
      assertThat(scrape).doesNotContain("marchproxy_l4_xdp_packets_total{");
    } finally {
      proxy.close();
    }
    assertThat(Path.of("/sys/fs/bpf/marchproxy/mp-no-such0")).doesNotExist();
  }

  @Test
  void withoutAnInterfaceXdpIsOff() throws Exception {
    Path state = Files.createTempDirectory("l4-xdp");
    int adminPort = Xds.freePort();
    L4Proxy proxy = new L4Proxy(settings(state, adminPort, Map.of()), AccessLog.off());
    try {
      proxy.start();
      assertThat(get(adminPort, "/readyz"))
          .contains("\"xdp\":{\"state\":\"off\"")
          .contains("MARCHPROXY_L4_XDP_INTERFACE is not set");
    } finally {
      proxy.close();
    }
  }
}
