package io.marchproxy.xds.translate;

/**
 * The names MarchProxy gives Envoy resources. They are part of the contract with proxies (stats
 * prefixes, SDS secret names the server renders, listener names proxyless clients dial), so they
 * change only with a migration note in docs/translator.md.
 */
public final class ResourceNames {

  /** The envoy kind's plain-HTTP listener, and the stat prefix of its connection manager. */
  public static final String HTTP_LISTENER = "http";

  /** The envoy kind's TLS listener: one filter chain per certificate. */
  public static final String HTTPS_LISTENER = "https";

  /** The envoy kind's one route configuration, shared by the http and https listeners. */
  public static final String HTTP_ROUTES = "http";

  public static final String ROUTER_FILTER = "envoy.filters.http.router";
  public static final String HTTP_CONNECTION_MANAGER =
      "envoy.filters.network.http_connection_manager";
  public static final String TCP_PROXY = "envoy.filters.network.tcp_proxy";
  public static final String NETWORK_RBAC = "envoy.filters.network.rbac";
  public static final String NETWORK_LOCAL_RATELIMIT = "envoy.filters.network.local_ratelimit";
  public static final String UDP_PROXY = "envoy.filters.udp_listener.udp_proxy";
  public static final String TLS_INSPECTOR = "envoy.filters.listener.tls_inspector";
  public static final String PROXY_PROTOCOL = "envoy.filters.listener.proxy_protocol";
  public static final String TLS_TRANSPORT_SOCKET = "envoy.transport_sockets.tls";
  public static final String HTTP_PROTOCOL_OPTIONS =
      "envoy.extensions.upstreams.http.v3.HttpProtocolOptions";

  /** The key of MarchProxy's own knobs in {@code metadata.filter_metadata}. */
  public static final String METADATA_NAMESPACE = "marchproxy";

  private ResourceNames() {}

  /** A service's Cluster and ClusterLoadAssignment. */
  public static String cluster(String service) {
    return "svc-" + service;
  }

  /** An L4 mapping's Listener (l4 kind). */
  public static String mappingListener(String mapping) {
    return "mapping-" + mapping;
  }

  /** The RouteConfiguration of one host for proxyless gRPC clients; its Listener is the host. */
  public static String grpcRoutes(String host) {
    return "grpc-" + host;
  }

  /** The SDS Secret holding a certificate and its key; rendered by the server, not here. */
  public static String certificateSecret(String certificate) {
    return "cert-" + certificate;
  }
}
