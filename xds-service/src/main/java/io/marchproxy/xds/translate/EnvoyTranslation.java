package io.marchproxy.xds.translate;

import com.google.protobuf.Any;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.core.v3.TransportSocket;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.FilterChainMatch;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.listener.v3.ListenerFilter;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CommonTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext;
import io.marchproxy.core.config.ClusterConfig;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The envoy kind: an HTTP listener, an HTTPS listener when there are certificates, one route
 * configuration for both, and a cluster per HTTP or gRPC service.
 */
final class EnvoyTranslation {

  static final String ANY_ADDRESS = "0.0.0.0";

  private EnvoyTranslation() {}

  static EnvoyResources translate(Document doc, DataPlane.Envoy plane) {
    L7Filters.Chain chain = plane.l7Filters().chain(doc.source());
    List<HttpFilter> l7 = chain.beforeRouter();
    List<Listener> listeners = new ArrayList<>();
    listeners.add(
        Listener.newBuilder()
            .setName(ResourceNames.HTTP_LISTENER)
            .setAddress(address(plane.httpPort()))
            .addFilterChains(
                FilterChain.newBuilder()
                    .addFilters(connectionManager(ResourceNames.HTTP_LISTENER, l7)))
            .build());
    https(doc, plane, l7).ifPresent(listeners::add);
    RouteConfiguration routes =
        RouteConfiguration.newBuilder()
            .setName(ResourceNames.HTTP_ROUTES)
            .addAllVirtualHosts(HttpRoutes.virtualHosts(doc, plane, chain))
            .build();
    var clusters = new ArrayList<io.envoyproxy.envoy.config.cluster.v3.Cluster>();
    var endpoints = new ArrayList<io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment>();
    for (ClusterConfig.Service service : doc.services().values()) {
      if (Document.isL7(service)) {
        var cluster = ServiceClusters.cluster(service, plane);
        clusters.add(cluster);
        if (cluster.hasEdsClusterConfig()) {
          endpoints.add(ServiceClusters.loadAssignment(service));
        }
      }
    }
    return new EnvoyResources(listeners, List.of(routes), clusters, endpoints, List.of());
  }

  static Address address(int port) {
    return Address.newBuilder()
        .setSocketAddress(SocketAddress.newBuilder().setAddress(ANY_ADDRESS).setPortValue(port))
        .build();
  }

  private static Filter connectionManager(String statPrefix, List<HttpFilter> l7) {
    return Filter.newBuilder()
        .setName(ResourceNames.HTTP_CONNECTION_MANAGER)
        .setTypedConfig(
            Any.pack(ConnectionManagers.edge(statPrefix, ResourceNames.HTTP_ROUTES, l7)))
        .build();
  }

  /**
   * One filter chain per certificate, chosen by SNI. Envoy refuses two chains with the same server
   * name, and an operator renewing a certificate has two for a while: a name goes to the
   * certificate that expires last (then the first by name), the other keeps its remaining names.
   */
  private static Optional<Listener> https(
      Document doc, DataPlane.Envoy plane, List<HttpFilter> l7) {
    Map<String, ClusterConfig.Certificate> owner = new TreeMap<>();
    Comparator<ClusterConfig.Certificate> preferred =
        Comparator.comparing((ClusterConfig.Certificate c) -> Document.or(c.notAfter(), ""))
            .reversed()
            .thenComparing(ClusterConfig.Certificate::name);
    for (ClusterConfig.Certificate cert : doc.certificates().stream().sorted(preferred).toList()) {
      for (String san : Document.list(cert.sans())) {
        if (san != null && !san.isBlank()) {
          owner.putIfAbsent(san.toLowerCase(Locale.ROOT), cert);
        }
      }
    }
    Listener.Builder listener =
        Listener.newBuilder()
            .setName(ResourceNames.HTTPS_LISTENER)
            .setAddress(address(plane.httpsPort()))
            .addListenerFilters(
                ListenerFilter.newBuilder()
                    .setName(ResourceNames.TLS_INSPECTOR)
                    .setTypedConfig(Any.pack(TlsInspector.getDefaultInstance())));
    for (ClusterConfig.Certificate cert : doc.certificates()) {
      TreeSet<String> names = new TreeSet<>();
      owner.forEach(
          (san, c) -> {
            if (c == cert) {
              names.add(san);
            }
          });
      if (names.isEmpty()) {
        continue;
      }
      String secret = ResourceNames.certificateSecret(cert.name());
      DownstreamTlsContext tls =
          DownstreamTlsContext.newBuilder()
              .setCommonTlsContext(
                  CommonTlsContext.newBuilder()
                      .addTlsCertificateSdsSecretConfigs(Ads.secret(secret))
                      .addAlpnProtocols("h2")
                      .addAlpnProtocols("http/1.1"))
              .build();
      listener.addFilterChains(
          FilterChain.newBuilder()
              .setName(secret)
              .setFilterChainMatch(FilterChainMatch.newBuilder().addAllServerNames(names))
              .addFilters(connectionManager(ResourceNames.HTTPS_LISTENER, l7))
              .setTransportSocket(
                  TransportSocket.newBuilder()
                      .setName(ResourceNames.TLS_TRANSPORT_SOCKET)
                      .setTypedConfig(Any.pack(tls))));
    }
    return listener.getFilterChainsCount() == 0 ? Optional.empty() : Optional.of(listener.build());
  }
}
