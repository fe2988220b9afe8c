package io.marchproxy.xds.translate;

import com.google.protobuf.Message;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/** What one data-plane kind of one cluster should have: every list sorted by resource name. */
public record EnvoyResources(
    List<Listener> listeners,
    List<RouteConfiguration> routes,
    List<Cluster> clusters,
    List<ClusterLoadAssignment> endpoints,
    List<Secret> secrets) {

  public static final EnvoyResources EMPTY =
      new EnvoyResources(List.of(), List.of(), List.of(), List.of(), List.of());

  public EnvoyResources {
    listeners = sorted(listeners, Listener::getName);
    routes = sorted(routes, RouteConfiguration::getName);
    clusters = sorted(clusters, Cluster::getName);
    endpoints = sorted(endpoints, ClusterLoadAssignment::getClusterName);
    secrets = sorted(secrets, Secret::getName);
  }

  /** By name, in name order; the cache keys resources this way. Duplicate names: last wins. */
  public Map<String, Listener> listenersByName() {
    return byName(listeners, Listener::getName);
  }

  public Map<String, RouteConfiguration> routesByName() {
    return byName(routes, RouteConfiguration::getName);
  }

  public Map<String, Cluster> clustersByName() {
    return byName(clusters, Cluster::getName);
  }

  public Map<String, ClusterLoadAssignment> endpointsByName() {
    return byName(endpoints, ClusterLoadAssignment::getClusterName);
  }

  public Map<String, Secret> secretsByName() {
    return byName(secrets, Secret::getName);
  }

  private static <T extends Message> List<T> sorted(List<T> list, Function<T, String> name) {
    return list.stream().sorted(Comparator.comparing(name)).toList();
  }

  private static <T extends Message> Map<String, T> byName(List<T> list, Function<T, String> name) {
    Map<String, T> out = new LinkedHashMap<>();
    list.forEach(r -> out.put(name.apply(r), r));
    return out;
  }
}
