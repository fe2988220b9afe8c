package io.marchproxy.xds.translate;

import com.google.protobuf.StringValue;
import com.google.protobuf.util.JsonFormat;
import io.envoyproxy.envoy.config.route.v3.FilterConfig;
import io.envoyproxy.envoy.extensions.filters.http.router.v3.Router;
import io.envoyproxy.envoy.extensions.filters.http.wasm.v3.Wasm;
import io.envoyproxy.envoy.extensions.filters.listener.proxy_protocol.v3.ProxyProtocol;
import io.envoyproxy.envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.local_ratelimit.v3.LocalRateLimit;
import io.envoyproxy.envoy.extensions.filters.network.rbac.v3.RBAC;
import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy;
import io.envoyproxy.envoy.extensions.filters.udp.udp_proxy.v3.Route;
import io.envoyproxy.envoy.extensions.filters.udp.udp_proxy.v3.UdpProxyConfig;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import io.envoyproxy.envoy.extensions.upstreams.http.v3.HttpProtocolOptions;

/**
 * Every message type the translator packs into an {@code Any}: what a proto-JSON printer needs to
 * show translated resources in full (golden files, status pages, NACK reports).
 */
public final class PackedTypes {

  public static final JsonFormat.TypeRegistry REGISTRY =
      JsonFormat.TypeRegistry.newBuilder()
          .add(HttpConnectionManager.getDescriptor())
          .add(Router.getDescriptor())
          .add(TcpProxy.getDescriptor())
          .add(UdpProxyConfig.getDescriptor())
          .add(Route.getDescriptor())
          .add(RBAC.getDescriptor())
          .add(LocalRateLimit.getDescriptor())
          .add(TlsInspector.getDescriptor())
          .add(ProxyProtocol.getDescriptor())
          .add(DownstreamTlsContext.getDescriptor())
          .add(UpstreamTlsContext.getDescriptor())
          .add(Secret.getDescriptor())
          .add(HttpProtocolOptions.getDescriptor())
          .add(Wasm.getDescriptor())
          .add(StringValue.getDescriptor())
          .add(FilterConfig.getDescriptor())
          .build();

  private PackedTypes() {}
}
