package io.marchproxy.xds.translate;

import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.marchproxy.core.config.ClusterConfig;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * The slot for MarchProxy's own L7 filters (the WASM metrics, auth and license filters): the envoy
 * kind's connection managers run what this returns, in order, and then the router. Building those
 * filters needs material the translator must not see (decrypted JWT secrets, the license), so the
 * server supplies the function; it must be as pure as the translator (same document → same
 * filters).
 */
@FunctionalInterface
public interface L7Filters {

  /** No filters of our own: requests go straight to the router. */
  L7Filters NONE = config -> List.of();

  List<HttpFilter> beforeRouter(ClusterConfig config);

  /**
   * The filters and, per route, which of them the route turns on. A filter marked {@code disabled}
   * runs only on the routes that enable it (Envoy's route-based filter chain), which is how a
   * policy of one route (its callers' keys, its feature) stays off every other route. The
   * translator calls this once per translation; the default has nothing per route.
   */
  default Chain chain(ClusterConfig config) {
    return new Chain(beforeRouter(config), Map.of());
  }

  /**
   * @param beforeRouter the filters, in order, before the router
   * @param enabledByRoute route name → names of disabled filters in {@code beforeRouter} that the
   *     route enables
   */
  record Chain(List<HttpFilter> beforeRouter, Map<String, List<String>> enabledByRoute) {
    public Chain {
      beforeRouter = List.copyOf(beforeRouter);
      Map<String, List<String>> sorted = new TreeMap<>();
      Objects.requireNonNull(enabledByRoute, "enabledByRoute")
          .forEach((route, names) -> sorted.put(route, names.stream().sorted().toList()));
      enabledByRoute = java.util.Collections.unmodifiableMap(sorted);
    }

    /** The filters a route enables, by name, sorted. */
    public List<String> enabledOn(String route) {
      return enabledByRoute.getOrDefault(route, List.of());
    }
  }
}
