package io.marchproxy.xds.translate;

import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.marchproxy.core.config.ClusterConfig;
import java.util.List;

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
}
