package io.marchproxy.xds.validate;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.UInt32Value;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.listener.v3.ApiListener;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.marchproxy.core.config.ClusterConfig;
import io.marchproxy.core.config.MappingSpec;
import io.marchproxy.core.config.RouteSpec;
import io.marchproxy.core.config.ServiceSpec;
import io.marchproxy.xds.translate.DataPlane;
import io.marchproxy.xds.translate.EnvoyResources;
import io.marchproxy.xds.translate.Translator;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/** Each broken reference or constraint is reported by name; valid translations have no problem. */
class ValidationTest {

  static final Path IN = Path.of("src/test/resources/translate/in");

  @TestFactory
  Stream<DynamicTest> everyGoldenCaseIsValidForEveryKind() throws IOException {
    List<DynamicTest> tests = new ArrayList<>();
    try (Stream<Path> files = Files.list(IN)) {
      for (Path file : files.sorted().toList()) {
        for (String kind : List.of("envoy", "l4", "grpc")) {
          tests.add(
              DynamicTest.dynamicTest(
                  file.getFileName() + " " + kind,
                  () -> {
                    ClusterConfig doc = read(file);
                    DataPlane plane = DataPlane.of(kind);
                    assertThat(Validation.problems(doc, Translator.translate(doc, plane), plane))
                        .isEmpty();
                  }));
        }
      }
    }
    return tests.stream();
  }

  /** A broken translation: which kind, how it was broken, and the problem that must be reported. */
  record Broken(
      String title,
      String input,
      String kind,
      UnaryOperator<EnvoyResources> breakIt,
      Problem expected) {}

  static List<Broken> brokenTranslations() {
    return List.of(
        new Broken(
            "listener's RDS name resolves to nothing",
            "http-basic",
            "envoy",
            r ->
                with(
                    r,
                    r.listeners().stream().map(l -> renameRds(l, "nowhere")).toList(),
                    null,
                    null,
                    null),
            new Problem("Listener", "http", "RDS route configuration 'nowhere' does not exist")),
        new Broken(
            "route's cluster is gone",
            "http-basic",
            "envoy",
            r -> with(r, null, null, List.of(), null),
            new Problem(
                "RouteConfiguration",
                "http",
                "route 'web' sends to cluster 'svc-web', which does not exist")),
        new Broken(
            "one of a route's weighted clusters is gone",
            "weighted-matching",
            "envoy",
            r ->
                with(
                    r,
                    null,
                    null,
                    r.clusters().stream()
                        .filter(c -> !c.getName().equals("svc-orders-v1"))
                        .toList(),
                    null),
            new Problem(
                "RouteConfiguration",
                "http",
                "route 'orders' sends to cluster 'svc-orders-v1', which does not exist")),
        new Broken(
            "EDS cluster without endpoints",
            "http-basic",
            "envoy",
            r -> with(r, null, null, null, List.of()),
            new Problem(
                "Cluster", "svc-web", "EDS cluster has no ClusterLoadAssignment 'svc-web'")),
        new Broken(
            "two listeners with one name",
            "l4-tcp",
            "l4",
            r ->
                with(
                    r,
                    List.of(r.listeners().get(0), r.listeners().get(0).toBuilder().build()),
                    null,
                    null,
                    null),
            new Problem("Listener", "mapping-postgres", "name is used by two resources")),
        new Broken(
            "two TCP listeners on one port",
            "l4-tcp",
            "l4",
            r ->
                with(
                    r,
                    List.of(r.listeners().get(0), withPort(r.listeners().get(1), 15432)),
                    null,
                    null,
                    null),
            new Problem("Listener", "mapping-redis", "TCP port 15432 is used by another listener")),
        new Broken(
            "port out of range",
            "l4-udp",
            "l4",
            r -> with(r, List.of(withPort(r.listeners().get(0), 70000)), null, null, null),
            new Problem("Listener", "mapping-dns", "port 70000 is not 1-65535")),
        new Broken(
            "tcp_proxy to a missing cluster",
            "l4-tcp",
            "l4",
            r ->
                with(
                    r,
                    null,
                    null,
                    r.clusters().stream().filter(c -> !c.getName().equals("svc-redis")).toList(),
                    null),
            new Problem(
                "Listener",
                "mapping-redis",
                "tcp_proxy sends to cluster 'svc-redis', which does not exist")),
        new Broken(
            "udp_proxy to a missing cluster",
            "l4-udp",
            "l4",
            r -> with(r, null, null, List.of(), null),
            new Problem(
                "Listener",
                "mapping-dns",
                "udp_proxy sends to cluster 'svc-resolvers', which does not exist")),
        new Broken(
            "router is not the last HTTP filter",
            "http-basic",
            "envoy",
            r ->
                with(
                    r,
                    r.listeners().stream().map(ValidationTest::filterAfterRouter).toList(),
                    null,
                    null,
                    null),
            new Problem("Listener", "http", "the router must be the last HTTP filter")),
        new Broken(
            "envoy kind gets an api_listener",
            "http-basic",
            "envoy",
            r ->
                with(
                    r,
                    List.of(
                        r.listeners().get(0).toBuilder()
                            .setApiListener(
                                ApiListener.newBuilder()
                                    .setApiListener(
                                        r.listeners()
                                            .get(0)
                                            .getFilterChains(0)
                                            .getFilters(0)
                                            .getTypedConfig()))
                            .build()),
                    null,
                    null,
                    null),
            new Problem("Listener", "http", "has an api_listener, which Envoy refuses over LDS")),
        new Broken(
            "grpc kind gets a listener without api_listener",
            "grpc-ring-hash",
            "grpc",
            r ->
                with(
                    r,
                    List.of(r.listeners().get(0).toBuilder().clearApiListener().build()),
                    null,
                    null,
                    null),
            new Problem(
                "Listener",
                "inventory.rpc.internal",
                "has no api_listener; proxyless gRPC clients need one")),
        new Broken(
            "grpc kind gets a STRICT_DNS cluster",
            "grpc-ring-hash",
            "grpc",
            r ->
                with(
                    r,
                    null,
                    null,
                    r.clusters().stream()
                        .map(
                            c ->
                                c.toBuilder()
                                    .setType(Cluster.DiscoveryType.STRICT_DNS)
                                    .setLoadAssignment(
                                        ClusterLoadAssignment.newBuilder()
                                            .setClusterName(c.getName()))
                                    .build())
                        .toList(),
                    null),
            new Problem(
                "Cluster",
                "svc-inventory",
                "is STRICT_DNS; proxyless gRPC clients take only EDS clusters")),
        new Broken(
            "grpc kind gets MAGLEV",
            "grpc-ring-hash",
            "grpc",
            r ->
                with(
                    r,
                    null,
                    null,
                    r.clusters().stream()
                        .map(c -> c.toBuilder().setLbPolicy(Cluster.LbPolicy.MAGLEV).build())
                        .toList(),
                    null),
            new Problem("Cluster", "svc-pricing", "load balancer MAGLEV is unknown to grpc-xds")),
        new Broken(
            "locality without weight",
            "localities",
            "grpc",
            r ->
                with(
                    r,
                    null,
                    null,
                    null,
                    r.endpoints().stream()
                        .map(
                            e -> {
                              var b = e.toBuilder();
                              b.getEndpointsBuilder(0).clearLoadBalancingWeight();
                              return b.build();
                            })
                        .toList()),
            new Problem(
                "ClusterLoadAssignment",
                "svc-catalog",
                "locality eu-west-1/eu-west-1a has no load_balancing_weight")),
        new Broken(
            "sparse priorities",
            "localities",
            "grpc",
            r ->
                with(
                    r,
                    null,
                    null,
                    null,
                    r.endpoints().stream()
                        .map(
                            e -> {
                              var b = e.toBuilder();
                              b.getEndpointsBuilder(b.getEndpointsCount() - 1).setPriority(7);
                              return b.build();
                            })
                        .toList()),
            new Problem(
                "ClusterLoadAssignment",
                "svc-catalog",
                "priorities must count up from 0 without gaps, found [0, 1, 7]")),
        new Broken(
            "hostname in an Envoy EDS endpoint",
            "http-basic",
            "envoy",
            r ->
                with(
                    r,
                    null,
                    null,
                    null,
                    r.endpoints().stream()
                        .map(
                            e -> {
                              var b = e.toBuilder();
                              b.getEndpointsBuilder(0)
                                  .getLbEndpointsBuilder(0)
                                  .getEndpointBuilder()
                                  .getAddressBuilder()
                                  .getSocketAddressBuilder()
                                  .setAddress("web.internal");
                              return b.build();
                            })
                        .toList()),
            new Problem(
                "ClusterLoadAssignment",
                "svc-web",
                "EDS endpoint 'web.internal' must be an IP address")),
        new Broken(
            "one server name in two filter chains",
            "https-certificates",
            "envoy",
            r ->
                with(
                    r,
                    r.listeners().stream().map(ValidationTest::sameSniTwice).toList(),
                    null,
                    null,
                    null),
            new Problem(
                "Listener",
                "https",
                "server name 'shop.example.org' is matched by two filter chains")));
  }

  @TestFactory
  Stream<DynamicTest> everyBrokenTranslationIsReported() {
    return brokenTranslations().stream()
        .map(
            b ->
                DynamicTest.dynamicTest(
                    b.title(),
                    () -> {
                      ClusterConfig doc = read(IN.resolve(b.input() + ".json"));
                      DataPlane plane = DataPlane.of(b.kind());
                      EnvoyResources good = Translator.translate(doc, plane);
                      assertThat(ResourceCheck.problems(good, plane)).isEmpty();
                      assertThat(ResourceCheck.problems(b.breakIt().apply(good), plane))
                          .contains(b.expected());
                    }));
  }

  /** A broken document: what is wrong in it, and the problem that must be reported. */
  record BrokenDocument(String title, UnaryOperator<ClusterConfig> breakIt, Problem expected) {}

  static List<BrokenDocument> brokenDocuments() {
    return List.of(
        new BrokenDocument(
            "route names a service that does not exist",
            d -> withRoutes(d, route("web", "ghost")),
            new Problem("route", "web", "backend service 'ghost' does not exist")),
        new BrokenDocument(
            "route sends to a TCP service",
            d -> withRoutes(withServices(d, service("db", "tcp")), route("web", "db")),
            new Problem("route", "web", "backend service 'db' is tcp; routes need http or grpc")),
        new BrokenDocument(
            "two services with one name",
            d -> withServices(d, service("web", "http")),
            new Problem("service", "web", "name is used twice")),
        new BrokenDocument(
            "mapping names a service that does not exist",
            d -> withMappings(d, mapping("db", "tcp", 5432, "ghost", null)),
            new Problem("mapping", "db", "service 'ghost' does not exist")),
        new BrokenDocument(
            "UDP mapping to a TCP service",
            d ->
                withMappings(
                    withServices(d, service("db", "tcp")), mapping("db", "udp", 5432, "db", null)),
            new Problem("mapping", "db", "is udp but service 'db' is tcp (UDP maps only to UDP)")),
        new BrokenDocument(
            "two TCP mappings on one port",
            d ->
                withMappings(
                    withServices(d, service("db", "tcp")),
                    mapping("a", "tcp", 5432, "db", null),
                    mapping("b", "tcp", 5432, "db", null)),
            new Problem("mapping", "b", "listens on tcp port 5432 like another mapping")),
        new BrokenDocument(
            "allowed source that is not a CIDR",
            d ->
                withMappings(
                    withServices(d, service("db", "tcp")),
                    mapping("db", "tcp", 5432, "db", List.of("10.0.0.0/33"))),
            new Problem("mapping", "db", "allowed source '10.0.0.0/33' is not a CIDR")),
        new BrokenDocument(
            "endpoint without a port",
            d ->
                withServices(
                    d,
                    new ClusterConfig.Service(
                        null,
                        "api",
                        "http",
                        new ServiceSpec(
                            List.of(new ServiceSpec.Endpoint("10.0.0.1", null, 1, null, null, 0)),
                            null,
                            null,
                            null,
                            null,
                            null),
                        List.of())),
            new Problem("service", "api", "endpoints[0] port must be 1-65535")));
  }

  @TestFactory
  Stream<DynamicTest> everyBrokenDocumentIsReportedNotThrown() {
    return brokenDocuments().stream()
        .map(
            b ->
                DynamicTest.dynamicTest(
                    b.title(),
                    () -> {
                      ClusterConfig doc = b.breakIt().apply(read(IN.resolve("http-basic.json")));
                      for (String kind : List.of("envoy", "l4", "grpc")) {
                        DataPlane plane = DataPlane.of(kind);
                        // translating a broken document must not throw
                        EnvoyResources resources = Translator.translate(doc, plane);
                        assertThat(Validation.problems(doc, resources, plane))
                            .contains(b.expected());
                      }
                    }));
  }

  @TestFactory
  Stream<DynamicTest> aRouteToAMissingServiceIsAlsoADanglingCluster() {
    ClusterConfig doc;
    try {
      doc = withRoutes(read(IN.resolve("http-basic.json")), route("web", "ghost"));
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
    return Stream.of(
        DynamicTest.dynamicTest(
            "envoy",
            () ->
                assertThat(
                        ResourceCheck.problems(
                            Translator.translate(doc, DataPlane.of("envoy")),
                            DataPlane.of("envoy")))
                    .containsExactly(
                        new Problem(
                            "RouteConfiguration",
                            "http",
                            "route 'web' sends to cluster 'svc-ghost', which does not exist"))));
  }

  // --- helpers ---

  static ClusterConfig read(Path file) throws IOException {
    return io.micronaut.serde.ObjectMapper.getDefault()
        .readValue(Files.readString(file), ClusterConfig.class);
  }

  static EnvoyResources with(
      EnvoyResources r,
      List<Listener> listeners,
      List<RouteConfiguration> routes,
      List<Cluster> clusters,
      List<ClusterLoadAssignment> endpoints) {
    return new EnvoyResources(
        listeners == null ? r.listeners() : listeners,
        routes == null ? r.routes() : routes,
        clusters == null ? r.clusters() : clusters,
        endpoints == null ? r.endpoints() : endpoints,
        r.secrets());
  }

  static Listener renameRds(Listener l, String routeConfig) {
    return mapConnectionManager(
        l,
        hcm ->
            hcm.toBuilder()
                .setRds(hcm.getRds().toBuilder().setRouteConfigName(routeConfig))
                .build());
  }

  static Listener filterAfterRouter(Listener l) {
    return mapConnectionManager(
        l,
        hcm ->
            hcm.toBuilder()
                .addHttpFilters(HttpFilter.newBuilder().setName("marchproxy.metrics"))
                .build());
  }

  static Listener mapConnectionManager(Listener l, UnaryOperator<HttpConnectionManager> change) {
    var b = l.toBuilder();
    for (var chain : b.getFilterChainsBuilderList()) {
      for (var filter : chain.getFiltersBuilderList()) {
        if (filter.getTypedConfig().is(HttpConnectionManager.class)) {
          try {
            filter.setTypedConfig(
                Any.pack(
                    change.apply(filter.getTypedConfig().unpack(HttpConnectionManager.class))));
          } catch (InvalidProtocolBufferException e) {
            throw new IllegalStateException(e);
          }
        }
      }
    }
    return b.build();
  }

  static Listener withPort(Listener l, int port) {
    var b = l.toBuilder();
    b.getAddressBuilder().getSocketAddressBuilder().setPortValue(port);
    return b.build();
  }

  static Listener sameSniTwice(Listener l) {
    if (!l.getName().equals("https")) {
      return l;
    }
    var b = l.toBuilder();
    b.getFilterChainsBuilder(0).getFilterChainMatchBuilder().addServerNames("shop.example.org");
    return b.build();
  }

  static ClusterConfig withServices(ClusterConfig d, ClusterConfig.Service... extra) {
    List<ClusterConfig.Service> services = new ArrayList<>(d.services());
    services.addAll(List.of(extra));
    return new ClusterConfig(
        d.schema(), d.cluster(), services, d.routes(), d.mappings(), d.certificates());
  }

  static ClusterConfig withRoutes(ClusterConfig d, ClusterConfig.Route... routes) {
    return new ClusterConfig(
        d.schema(), d.cluster(), d.services(), List.of(routes), d.mappings(), d.certificates());
  }

  static ClusterConfig withMappings(ClusterConfig d, ClusterConfig.Mapping... mappings) {
    return new ClusterConfig(
        d.schema(), d.cluster(), d.services(), d.routes(), List.of(mappings), d.certificates());
  }

  static ClusterConfig.Service service(String name, String protocol) {
    return new ClusterConfig.Service(
        null,
        name,
        protocol,
        new ServiceSpec(
            List.of(new ServiceSpec.Endpoint("10.0.0.1", 5432, 1, null, null, 0)),
            "round_robin",
            null,
            null,
            null,
            null),
        List.of());
  }

  static ClusterConfig.Route route(String name, String service) {
    return new ClusterConfig.Route(
        null,
        name,
        new RouteSpec(
            List.of("shop.example.com"),
            new RouteSpec.Match("/", null, null, null, null),
            List.of(new RouteSpec.Backend(service, 1)),
            null,
            null,
            null,
            null,
            0));
  }

  static ClusterConfig.Mapping mapping(
      String name, String protocol, int port, String service, List<String> cidrs) {
    return new ClusterConfig.Mapping(
        null,
        name,
        protocol,
        port,
        new MappingSpec(
            service,
            cidrs == null ? null : new MappingSpec.AllowedSources(cidrs, null),
            null,
            "unlimited",
            null,
            "none",
            false));
  }

  static UInt32Value weight(int w) {
    return UInt32Value.of(w);
  }
}
