package io.marchproxy.l4.config;

import java.util.Map;
import java.util.TreeMap;

/** Everything the proxy runs: listeners, clusters and their endpoints, by resource name. */
public record ProxyConfig(
    Map<String, ListenerSpec> listeners,
    Map<String, ClusterSpec> clusters,
    Map<String, EndpointsSpec> endpoints) {

  public static final ProxyConfig EMPTY = new ProxyConfig(Map.of(), Map.of(), Map.of());

  public ProxyConfig {
    listeners = java.util.Collections.unmodifiableMap(new TreeMap<>(listeners));
    clusters = java.util.Collections.unmodifiableMap(new TreeMap<>(clusters));
    endpoints = java.util.Collections.unmodifiableMap(new TreeMap<>(endpoints));
  }
}
