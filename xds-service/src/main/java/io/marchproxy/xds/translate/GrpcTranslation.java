package io.marchproxy.xds.translate;

import com.google.protobuf.Any;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.listener.v3.ApiListener;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.marchproxy.core.config.ClusterConfig;
import io.marchproxy.core.config.RouteSpec;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The grpc kind, for proxyless gRPC clients: a client dialing {@code xds:///api.example.com}
 * subscribes to the Listener named exactly {@code api.example.com}; it holds an api_listener whose
 * routes come over RDS as {@code grpc-api.example.com}. Only concrete hosts get one: a client
 * cannot dial {@code *} or {@code *.example.com}.
 */
final class GrpcTranslation {

  private GrpcTranslation() {}

  static EnvoyResources translate(Document doc, DataPlane.Grpc plane) {
    Map<String, List<ClusterConfig.Route>> byHost = new TreeMap<>();
    for (ClusterConfig.Route route : doc.routes().stream().sorted(HttpRoutes.ORDER).toList()) {
      if (!reachesOnlyL7Services(route, doc)) {
        continue;
      }
      for (String host : HttpRoutes.hosts(route)) {
        if (!host.contains("*")) {
          byHost.computeIfAbsent(host, h -> new ArrayList<>()).add(route);
        }
      }
    }
    List<Listener> listeners = new ArrayList<>();
    List<RouteConfiguration> routes = new ArrayList<>();
    byHost.forEach(
        (host, hostRoutes) -> {
          String routeConfig = ResourceNames.grpcRoutes(host);
          listeners.add(
              Listener.newBuilder()
                  .setName(host)
                  .setApiListener(
                      ApiListener.newBuilder()
                          .setApiListener(
                              Any.pack(ConnectionManagers.proxyless(routeConfig, routeConfig))))
                  .build());
          routes.add(
              RouteConfiguration.newBuilder()
                  .setName(routeConfig)
                  .addVirtualHosts(
                      HttpRoutes.virtualHost(host, List.of(host), hostRoutes, doc, plane))
                  .build());
        });
    List<Cluster> clusters = new ArrayList<>();
    List<ClusterLoadAssignment> endpoints = new ArrayList<>();
    for (ClusterConfig.Service service : doc.services().values()) {
      if (Document.isL7(service)) {
        clusters.add(ServiceClusters.cluster(service, plane));
        endpoints.add(ServiceClusters.loadAssignment(service));
      }
    }
    return new EnvoyResources(listeners, routes, clusters, endpoints, List.of());
  }

  /** A route to a TCP or UDP service has nothing a gRPC client could call; unknown ones stay. */
  private static boolean reachesOnlyL7Services(ClusterConfig.Route route, Document doc) {
    for (RouteSpec.Backend b : Document.list(Document.spec(route).backends())) {
      if (b != null && doc.service(b.service()).map(s -> !Document.isL7(s)).orElse(false)) {
        return false;
      }
    }
    return true;
  }
}
