package io.marchproxy.xds.translate;

import com.google.protobuf.Any;
import io.envoyproxy.envoy.extensions.filters.http.router.v3.Router;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.Rds;
import java.util.List;

/** HttpConnectionManagers: routes over RDS (ADS), the caller's filters, the router last. */
final class ConnectionManagers {

  static final HttpFilter ROUTER =
      HttpFilter.newBuilder()
          .setName(ResourceNames.ROUTER_FILTER)
          .setTypedConfig(Any.pack(Router.getDefaultInstance()))
          .build();

  private ConnectionManagers() {}

  /**
   * At the edge: the client address is the peer (not a forged X-Forwarded-For), and paths are
   * normalized before routing so that path-based policy (auth exemptions) sees the path upstream
   * gets.
   */
  static HttpConnectionManager edge(
      String statPrefix, String routeConfigName, List<HttpFilter> l7Filters) {
    return base(statPrefix, routeConfigName, l7Filters)
        .setUseRemoteAddress(com.google.protobuf.BoolValue.of(true))
        .setNormalizePath(com.google.protobuf.BoolValue.of(true))
        .setMergeSlashes(true)
        .build();
  }

  /** For proxyless gRPC clients, which accept only the filters they implement. */
  static HttpConnectionManager proxyless(String statPrefix, String routeConfigName) {
    return base(statPrefix, routeConfigName, List.of()).build();
  }

  private static HttpConnectionManager.Builder base(
      String statPrefix, String routeConfigName, List<HttpFilter> l7Filters) {
    return HttpConnectionManager.newBuilder()
        .setStatPrefix(statPrefix)
        .setCodecType(HttpConnectionManager.CodecType.AUTO)
        .setRds(
            Rds.newBuilder().setConfigSource(Ads.CONFIG_SOURCE).setRouteConfigName(routeConfigName))
        .addAllHttpFilters(l7Filters)
        .addHttpFilters(ROUTER);
  }
}
