package io.marchproxy.l4.xds;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.marchproxy.l4.config.ClusterSpec;
import io.marchproxy.l4.config.ConfigReader;
import io.marchproxy.l4.config.ConfigRejected;
import io.marchproxy.l4.config.EndpointsSpec;
import io.marchproxy.l4.config.ListenerSpec;
import io.marchproxy.l4.config.ProxyConfig;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The resources the proxy holds: per type, the last accepted version and resources. Immutable; an
 * update makes a candidate that becomes current only when the proxy could run it.
 */
public record Resources(Map<String, Accepted> byType) {

  /** One type's accepted state. */
  public record Accepted(String version, List<Any> resources) {
    public Accepted {
      resources = List.copyOf(resources);
    }
  }

  public static final Resources EMPTY = new Resources(Map.of());

  public Resources {
    byType = Map.copyOf(byType);
  }

  public Resources with(String typeUrl, String version, List<Any> resources) {
    Map<String, Accepted> next = new HashMap<>(byType);
    next.put(typeUrl, new Accepted(version, resources));
    return new Resources(next);
  }

  public String version(String typeUrl) {
    Accepted a = byType.get(typeUrl);
    return a == null ? "" : a.version();
  }

  public boolean has(String typeUrl) {
    return byType.containsKey(typeUrl);
  }

  /**
   * The EDS subscription: empty, i.e. every ClusterLoadAssignment of this proxy's group. A by-name
   * subscription that grows at an unchanged EDS version is not answered by xds-service's cache
   * (decision 0302); the l4 group holds only the clusters l4 mappings use, so "all" is exactly what
   * the proxy needs. Endpoints of clusters it does not know are ignored.
   */
  public List<String> edsClusterNames() {
    return List.of();
  }

  /** Everything read into what the proxy runs; the first problem found is thrown. */
  public ProxyConfig toConfig() throws ConfigRejected {
    Map<String, ListenerSpec> listeners = new TreeMap<>();
    Map<String, ClusterSpec> clusters = new TreeMap<>();
    Map<String, EndpointsSpec> endpoints = new TreeMap<>();
    Map<String, String> edsNames = new HashMap<>();
    for (Any any : resources(TypeUrls.CLUSTER)) {
      Cluster c = unpack(any, Cluster.class, "Cluster");
      ClusterSpec spec = ConfigReader.cluster(c);
      if (clusters.put(spec.name(), spec) != null) {
        throw new ConfigRejected("cluster " + spec.name() + " appears twice");
      }
      var inline = ConfigReader.inlineEndpoints(c);
      if (inline.isPresent()) {
        endpoints.put(spec.name(), inline.get());
      } else {
        String service = c.getEdsClusterConfig().getServiceName();
        edsNames.put(service.isEmpty() ? c.getName() : service, c.getName());
      }
    }
    for (Any any : resources(TypeUrls.ENDPOINTS)) {
      EndpointsSpec e =
          ConfigReader.endpoints(unpack(any, ClusterLoadAssignment.class, "ClusterLoadAssignment"));
      String cluster = edsNames.get(e.cluster());
      if (cluster != null) {
        endpoints.put(cluster, new EndpointsSpec(cluster, e.endpoints()));
      }
    }
    for (Any any : resources(TypeUrls.LISTENER)) {
      ListenerSpec l = ConfigReader.listener(unpack(any, Listener.class, "Listener"));
      if (listeners.put(l.name(), l) != null) {
        throw new ConfigRejected("listener " + l.name() + " appears twice");
      }
    }
    checkPorts(listeners);
    return new ProxyConfig(listeners, clusters, endpoints);
  }

  private static void checkPorts(Map<String, ListenerSpec> listeners) throws ConfigRejected {
    Map<String, String> taken = new HashMap<>();
    for (ListenerSpec l : listeners.values()) {
      String key = (l instanceof ListenerSpec.Udp ? "udp/" : "tcp/") + l.address();
      String other = taken.put(key, l.name());
      if (other != null) {
        throw new ConfigRejected("listeners " + other + " and " + l.name() + " both use " + key);
      }
    }
  }

  private List<Any> resources(String typeUrl) {
    Accepted a = byType.get(typeUrl);
    return a == null ? List.of() : a.resources();
  }

  private static <T extends com.google.protobuf.Message> T unpack(
      Any any, Class<T> type, String what) throws ConfigRejected {
    try {
      return any.unpack(type);
    } catch (InvalidProtocolBufferException e) {
      throw new ConfigRejected("a resource is not a " + what + ": " + any.getTypeUrl());
    }
  }

  /** As DiscoveryResponses, the disk cache's format. */
  public List<DiscoveryResponse> asResponses() {
    return new TreeMap<>(byType)
        .entrySet().stream()
            .map(
                e ->
                    DiscoveryResponse.newBuilder()
                        .setTypeUrl(e.getKey())
                        .setVersionInfo(e.getValue().version())
                        .addAllResources(e.getValue().resources())
                        .build())
            .toList();
  }

  public static Resources fromResponses(List<DiscoveryResponse> responses) {
    Resources r = EMPTY;
    for (DiscoveryResponse d : responses) {
      r = r.with(d.getTypeUrl(), d.getVersionInfo(), d.getResourcesList());
    }
    return r;
  }
}
