package io.marchproxy.l4.config;

import static io.marchproxy.l4.testing.Xds.*;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.Any;
import com.google.protobuf.Message;
import com.google.protobuf.util.JsonFormat;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.marchproxy.l4.config.ClusterSpec.LbPolicy;
import io.marchproxy.l4.config.MappingMeta.ProxyProtocolVersion;
import io.marchproxy.l4.testing.Xds.Ep;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.yaml.snakeyaml.Yaml;

/**
 * The contract with xds-service: every golden l4 output of its translator reads into a config the
 * proxy runs as the document meant; and everything the proxy cannot run is refused by name.
 */
class ConfigReaderTest {

  static final Path GOLDEN =
      Path.of(
          System.getProperty("marchproxy.root", ".."),
          "xds-service/src/test/resources/translate/out");

  static final JsonFormat.TypeRegistry TYPES =
      JsonFormat.TypeRegistry.newBuilder()
          .add(io.envoyproxy.envoy.extensions.filters.network.rbac.v3.RBAC.getDescriptor())
          .add(
              io.envoyproxy.envoy.extensions.filters.network.local_ratelimit.v3.LocalRateLimit
                  .getDescriptor())
          .add(io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy.getDescriptor())
          .add(
              io.envoyproxy.envoy.extensions.filters.listener.proxy_protocol.v3.ProxyProtocol
                  .getDescriptor())
          .add(
              io.envoyproxy.envoy.extensions.filters.udp.udp_proxy.v3.UdpProxyConfig
                  .getDescriptor())
          .add(io.envoyproxy.envoy.extensions.filters.udp.udp_proxy.v3.Route.getDescriptor())
          .add(
              io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext
                  .getDescriptor())
          .add(io.envoyproxy.envoy.extensions.upstreams.http.v3.HttpProtocolOptions.getDescriptor())
          .build();

  /** Reads one golden YAML file into resources as the proxy would receive them. */
  @SuppressWarnings("unchecked")
  static io.marchproxy.l4.xds.Resources golden(Path file) throws Exception {
    Map<String, Object> doc = new Yaml().load(Files.readString(file));
    var json = new com.fasterxml.jackson.databind.ObjectMapper();
    var parser = JsonFormat.parser().usingTypeRegistry(TYPES);
    var r = io.marchproxy.l4.xds.Resources.EMPTY;
    Object[][] kinds = {
      {"clusters", Cluster.newBuilder(), io.marchproxy.l4.xds.TypeUrls.CLUSTER},
      {"endpoints", ClusterLoadAssignment.newBuilder(), io.marchproxy.l4.xds.TypeUrls.ENDPOINTS},
      {"listeners", Listener.newBuilder(), io.marchproxy.l4.xds.TypeUrls.LISTENER}
    };
    for (Object[] k : kinds) {
      List<Any> out = new ArrayList<>();
      for (Object item : (List<Object>) doc.getOrDefault((String) k[0], List.of())) {
        Message.Builder b = ((Message.Builder) k[1]).clone().clear();
        parser.merge(json.writeValueAsString(item), b);
        out.add(Any.pack(b.build()));
      }
      r = r.with((String) k[2], "golden", out);
    }
    return r;
  }

  static Stream<Path> goldenFiles() throws Exception {
    return Files.list(GOLDEN).filter(p -> p.getFileName().toString().endsWith(".l4.yaml")).sorted();
  }

  @ParameterizedTest
  @MethodSource("goldenFiles")
  void everyGoldenL4OutputIsRunnable(Path file) throws Exception {
    ProxyConfig c = golden(file).toConfig();
    for (ListenerSpec l : c.listeners().values()) {
      assertThat(c.clusters()).containsKeys(l.clusters().toArray(String[]::new));
    }
  }

  @Test
  void theTcpCaseMeansWhatTheDocumentSaid() throws Exception {
    ProxyConfig c = golden(GOLDEN.resolve("l4-tcp.l4.yaml")).toConfig();
    var pg = (ListenerSpec.Tcp) c.listeners().get("mapping-postgres");
    assertThat(pg.address().getPort()).isEqualTo(15432);
    assertThat(pg.acceptProxyProtocol()).isTrue();
    assertThat(pg.meta().sendProxyProtocol()).isEqualTo(ProxyProtocolVersion.V2);
    assertThat(pg.meta().bandwidthClass()).isEqualTo("gold");
    assertThat(pg.meta().perSourceConnectionsPerSecond()).isEqualTo(50);
    assertThat(pg.meta().perSourceMaxConnections()).isEqualTo(200);
    assertThat(pg.meta().allowedServices()).containsExactly("reporting");
    var chain = pg.chains().getFirst();
    assertThat(chain.route().cluster()).isEqualTo("svc-postgres");
    assertThat(chain.route().idleTimeout()).isEqualTo(Duration.ofSeconds(1800));
    assertThat(chain.rateLimit().maxTokens()).isEqualTo(50);
    // behind PROXY protocol the declared source is judged, not the load balancer's address
    InetAddress lb = InetAddress.getByName("172.16.0.5");
    assertThat(chain.rbac().permits(lb, InetAddress.getByName("10.1.2.3"))).isTrue();
    assertThat(chain.rbac().permits(lb, InetAddress.getByName("2001:db8::7"))).isTrue();
    assertThat(chain.rbac().permits(lb, InetAddress.getByName("172.16.0.9"))).isFalse();

    ClusterSpec svc = c.clusters().get("svc-postgres");
    assertThat(svc.lbPolicy()).isEqualTo(LbPolicy.LEAST_REQUEST);
    assertThat(svc.connectTimeout()).isEqualTo(Duration.ofMillis(500));
    assertThat(svc.maxConnections()).isEqualTo(10000);
    assertThat(svc.healthCheck().interval()).isEqualTo(Duration.ofSeconds(2));
    assertThat(svc.healthCheck().unhealthyThreshold()).isEqualTo(3);
    assertThat(c.endpoints().get("svc-postgres").endpoints())
        .extracting(EndpointsSpec.Endpoint::key, EndpointsSpec.Endpoint::priority)
        .containsExactly(
            org.assertj.core.groups.Tuple.tuple("10.7.0.1:5432", 0),
            org.assertj.core.groups.Tuple.tuple("10.7.0.2:5432", 1));
    assertThat(c.clusters().get("svc-redis").lbPolicy()).isEqualTo(LbPolicy.MAGLEV);
  }

  @Test
  void theUdpCaseIsAUdpListenerWithItsIdleTimeout() throws Exception {
    ProxyConfig c = golden(GOLDEN.resolve("l4-udp.l4.yaml")).toConfig();
    var dns = (ListenerSpec.Udp) c.listeners().get("mapping-dns");
    assertThat(dns.cluster()).isEqualTo("svc-resolvers");
    assertThat(dns.idleTimeout()).isEqualTo(Duration.ofSeconds(60));
    assertThat(dns.meta().perSourceMaxConnections()).isEqualTo(1000);
    assertThat(c.endpoints().get("svc-resolvers").endpoints())
        .extracting(EndpointsSpec.Endpoint::locality)
        .containsExactly("eu-west-1/eu-west-1a", "eu-west-1/eu-west-1b");
  }

  static Stream<Arguments> unrunnable() {
    var ok = tcpListener("mapping-x", 1000, "svc-x");
    return Stream.of(
        Arguments.of(
            tcpListener(
                    "mapping-x",
                    1000,
                    Filter.newBuilder().setName("envoy.filters.network.redis_proxy").build(),
                    tcpProxy("x", "svc-x"))
                .build(),
            "listener mapping-x: filter chain 0: unsupported network filter envoy.filters.network.redis_proxy"),
        Arguments.of(
            tcpListener("mapping-x", 1000, rbacAllow(true, "10.0.0.0/8")).build(),
            "needs envoy.filters.network.tcp_proxy as its last filter"),
        Arguments.of(
            tcpListener("mapping-x", 1000, tcpProxy("x", "svc-x"), rbacAllow(true, "10.0.0.0/8"))
                .build(),
            "must be the last filter"),
        Arguments.of(
            ok.clone().setAddress(address("db.internal", 1000)).build(),
            "must be an IP address, not db.internal"),
        Arguments.of(
            ok.clone().setAddress(address("0.0.0.0", 70000)).build(), "port value 1–65535"),
        Arguments.of(
            ok.clone().setMetadata(meta(Map.of("bandwidthClass", "platinum"))).build(),
            "bandwidthClass platinum"),
        Arguments.of(
            ok.clone().setMetadata(meta(Map.of("sendProxyProtocol", "v3"))).build(),
            "sendProxyProtocol must be none, v1 or v2"),
        Arguments.of(
            ok.clone()
                .setMetadata(meta(Map.of("perSourceLimits", Map.of("maxConnections", -1))))
                .build(),
            "maxConnections must be a number ≥ 0"),
        Arguments.of(
            ok.clone()
                .addListenerFilters(
                    io.envoyproxy.envoy.config.listener.v3.ListenerFilter.newBuilder()
                        .setName("envoy.filters.listener.http_inspector"))
                .build(),
            "unsupported listener filter envoy.filters.listener.http_inspector"));
  }

  @ParameterizedTest
  @MethodSource("unrunnable")
  void aListenerThatCannotRunIsRefusedByName(Listener l, String message) {
    assertThatThrownBy(() -> ConfigReader.listener(l))
        .isInstanceOf(ConfigRejected.class)
        .hasMessageContaining(message);
  }

  @Test
  void clustersAndEndpointsThatCannotRunAreRefused() {
    assertThatThrownBy(
            () ->
                ConfigReader.cluster(
                    edsCluster("svc-a", Cluster.LbPolicy.CLUSTER_PROVIDED).build()))
        .hasMessageContaining("cluster svc-a: lb_policy CLUSTER_PROVIDED is not supported");
    assertThatThrownBy(
            () ->
                ConfigReader.cluster(
                    edsCluster("svc-a", Cluster.LbPolicy.ROUND_ROBIN)
                        .setType(Cluster.DiscoveryType.ORIGINAL_DST)
                        .build()))
        .hasMessageContaining("discovery type ORIGINAL_DST");
    var zeroWeight = cla("svc-a", new Ep("10.0.0.1", 80, 0, 0));
    assertThatThrownBy(() -> ConfigReader.endpoints(zeroWeight))
        .hasMessageContaining("has weight 0");
    var noPort = cla("svc-a", new Ep("10.0.0.1", 0, 0, 1));
    assertThatThrownBy(() -> ConfigReader.endpoints(noPort))
        .hasMessageContaining("needs a port value");
  }

  @Test
  void twoListenersOnOnePortAreRefused() {
    assertThatThrownBy(
            () ->
                config(
                    List.of(
                        tcpListener("mapping-a", 1000, "svc").build(),
                        tcpListener("mapping-b", 1000, "svc").build()),
                    List.of(edsCluster("svc", Cluster.LbPolicy.ROUND_ROBIN).build()),
                    List.of()))
        .hasMessageContaining("listeners mapping-a and mapping-b both use tcp/");
  }
}
