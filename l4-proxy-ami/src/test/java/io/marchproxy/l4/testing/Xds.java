package io.marchproxy.l4.testing;

import com.google.protobuf.Any;
import com.google.protobuf.Duration;
import com.google.protobuf.Struct;
import com.google.protobuf.UInt32Value;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.AggregatedConfigSource;
import io.envoyproxy.envoy.config.core.v3.ApiVersion;
import io.envoyproxy.envoy.config.core.v3.CidrRange;
import io.envoyproxy.envoy.config.core.v3.ConfigSource;
import io.envoyproxy.envoy.config.core.v3.HealthCheck;
import io.envoyproxy.envoy.config.core.v3.Metadata;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.Endpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.listener.v3.ListenerFilter;
import io.envoyproxy.envoy.config.listener.v3.UdpListenerConfig;
import io.envoyproxy.envoy.config.rbac.v3.Permission;
import io.envoyproxy.envoy.config.rbac.v3.Policy;
import io.envoyproxy.envoy.config.rbac.v3.Principal;
import io.envoyproxy.envoy.config.rbac.v3.RBAC;
import io.envoyproxy.envoy.extensions.filters.listener.proxy_protocol.v3.ProxyProtocol;
import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy;
import io.envoyproxy.envoy.extensions.filters.udp.udp_proxy.v3.Route;
import io.envoyproxy.envoy.extensions.filters.udp.udp_proxy.v3.UdpProxyConfig;
import io.marchproxy.l4.config.ConfigRejected;
import io.marchproxy.l4.config.ProxyConfig;
import io.marchproxy.l4.xds.Resources;
import io.marchproxy.l4.xds.TypeUrls;
import java.io.IOException;
import java.net.ServerSocket;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Builds Envoy resources the way xds-service's l4 translation shapes them. */
public final class Xds {

  private Xds() {}

  public static int freePort() {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  public static Address address(String host, int port) {
    return Address.newBuilder()
        .setSocketAddress(SocketAddress.newBuilder().setAddress(host).setPortValue(port))
        .build();
  }

  public static Filter tcpProxy(String name, String cluster) {
    return Filter.newBuilder()
        .setName("envoy.filters.network.tcp_proxy")
        .setTypedConfig(
            Any.pack(
                TcpProxy.newBuilder()
                    .setStatPrefix(name)
                    .setCluster(cluster)
                    .setIdleTimeout(Duration.newBuilder().setSeconds(3600))
                    .build()))
        .build();
  }

  public static Filter rbacAllow(boolean direct, String... cidrs) {
    Policy.Builder p = Policy.newBuilder().addPermissions(Permission.newBuilder().setAny(true));
    for (String c : cidrs) {
      String[] parts = c.split("/");
      CidrRange r =
          CidrRange.newBuilder()
              .setAddressPrefix(parts[0])
              .setPrefixLen(UInt32Value.of(Integer.parseInt(parts[1])))
              .build();
      p.addPrincipals(
          direct
              ? Principal.newBuilder().setDirectRemoteIp(r)
              : Principal.newBuilder().setRemoteIp(r));
    }
    return Filter.newBuilder()
        .setName("envoy.filters.network.rbac")
        .setTypedConfig(
            Any.pack(
                io.envoyproxy
                    .envoy
                    .extensions
                    .filters
                    .network
                    .rbac
                    .v3
                    .RBAC
                    .newBuilder()
                    .setStatPrefix("rbac")
                    .setRules(
                        RBAC.newBuilder()
                            .setAction(RBAC.Action.ALLOW)
                            .putPolicies("allowed-sources", p.build()))
                    .build()))
        .build();
  }

  /** Listener metadata marchproxy.* (values: String, Number, Boolean, Map). */
  public static Metadata meta(Map<String, Object> fields) {
    return Metadata.newBuilder().putFilterMetadata("marchproxy", struct(fields)).build();
  }

  @SuppressWarnings("unchecked")
  private static Struct struct(Map<String, Object> fields) {
    Struct.Builder s = Struct.newBuilder();
    fields.forEach(
        (k, v) -> {
          Value.Builder b = Value.newBuilder();
          switch (v) {
            case String str -> b.setStringValue(str);
            case Number n -> b.setNumberValue(n.doubleValue());
            case Boolean bool -> b.setBoolValue(bool);
            case Map<?, ?> m -> b.setStructValue(struct((Map<String, Object>) m));
            default -> throw new IllegalArgumentException(String.valueOf(v));
          }
          s.putFields(k, b.build());
        });
    return s.build();
  }

  public static Listener.Builder tcpListener(String name, int port, Filter... filters) {
    return Listener.newBuilder()
        .setName(name)
        .setAddress(address("127.0.0.1", port))
        .addFilterChains(FilterChain.newBuilder().addAllFilters(List.of(filters)));
  }

  public static Listener.Builder tcpListener(String name, int port, String cluster) {
    return tcpListener(name, port, tcpProxy(name, cluster));
  }

  public static ListenerFilter acceptProxyProtocol() {
    return ListenerFilter.newBuilder()
        .setName("envoy.filters.listener.proxy_protocol")
        .setTypedConfig(Any.pack(ProxyProtocol.getDefaultInstance()))
        .build();
  }

  public static Listener udpListener(String name, int port, String cluster, long idleSeconds) {
    var route = Any.pack(Route.newBuilder().setCluster(cluster).build());
    var matcher =
        com.github.xds.type.matcher.v3.Matcher.newBuilder()
            .setOnNoMatch(
                com.github.xds.type.matcher.v3.Matcher.OnMatch.newBuilder()
                    .setAction(
                        com.github.xds.core.v3.TypedExtensionConfig.newBuilder()
                            .setName("route")
                            .setTypedConfig(route)));
    return Listener.newBuilder()
        .setName(name)
        .setAddress(
            Address.newBuilder()
                .setSocketAddress(
                    SocketAddress.newBuilder()
                        .setProtocol(SocketAddress.Protocol.UDP)
                        .setAddress("127.0.0.1")
                        .setPortValue(port)))
        .setUdpListenerConfig(UdpListenerConfig.getDefaultInstance())
        .addListenerFilters(
            ListenerFilter.newBuilder()
                .setName("envoy.filters.udp_listener.udp_proxy")
                .setTypedConfig(
                    Any.pack(
                        UdpProxyConfig.newBuilder()
                            .setStatPrefix(name)
                            .setIdleTimeout(Duration.newBuilder().setSeconds(idleSeconds))
                            .setMatcher(matcher)
                            .build())))
        .build();
  }

  public static Cluster.Builder edsCluster(String name, Cluster.LbPolicy lb) {
    return Cluster.newBuilder()
        .setName(name)
        .setType(Cluster.DiscoveryType.EDS)
        .setEdsClusterConfig(
            Cluster.EdsClusterConfig.newBuilder()
                .setEdsConfig(
                    ConfigSource.newBuilder()
                        .setAds(AggregatedConfigSource.getDefaultInstance())
                        .setResourceApiVersion(ApiVersion.V3)))
        .setConnectTimeout(Duration.newBuilder().setSeconds(1))
        .setLbPolicy(lb);
  }

  public static HealthCheck tcpHealthCheck(long intervalMs, long timeoutMs) {
    return HealthCheck.newBuilder()
        .setInterval(
            Duration.newBuilder()
                .setNanos((int) (intervalMs % 1000) * 1_000_000)
                .setSeconds(intervalMs / 1000))
        .setTimeout(
            Duration.newBuilder()
                .setNanos((int) (timeoutMs % 1000) * 1_000_000)
                .setSeconds(timeoutMs / 1000))
        .setHealthyThreshold(UInt32Value.of(1))
        .setUnhealthyThreshold(UInt32Value.of(1))
        .setTcpHealthCheck(HealthCheck.TcpHealthCheck.getDefaultInstance())
        .build();
  }

  /** One endpoint: host, port, priority. */
  public record Ep(String host, int port, int priority, int weight) {
    public static Ep of(int port) {
      return new Ep("127.0.0.1", port, 0, 1);
    }

    public static Ep of(int port, int priority) {
      return new Ep("127.0.0.1", port, priority, 1);
    }
  }

  public static ClusterLoadAssignment cla(String cluster, Ep... endpoints) {
    ClusterLoadAssignment.Builder b = ClusterLoadAssignment.newBuilder().setClusterName(cluster);
    for (Ep e : endpoints) {
      b.addEndpoints(
          LocalityLbEndpoints.newBuilder()
              .setPriority(e.priority())
              .setLoadBalancingWeight(UInt32Value.of(e.weight()))
              .addLbEndpoints(
                  LbEndpoint.newBuilder()
                      .setLoadBalancingWeight(UInt32Value.of(e.weight()))
                      .setEndpoint(Endpoint.newBuilder().setAddress(address(e.host(), e.port())))));
    }
    return b.build();
  }

  /** A resource set as the proxy would hold it after receiving these. */
  public static Resources resources(
      List<Listener> listeners, List<Cluster> clusters, List<ClusterLoadAssignment> endpoints) {
    List<Any> l = new ArrayList<>();
    listeners.forEach(x -> l.add(Any.pack(x)));
    List<Any> c = new ArrayList<>();
    clusters.forEach(x -> c.add(Any.pack(x)));
    List<Any> e = new ArrayList<>();
    endpoints.forEach(x -> e.add(Any.pack(x)));
    return Resources.EMPTY
        .with(TypeUrls.CLUSTER, "1", c)
        .with(TypeUrls.ENDPOINTS, "1", e)
        .with(TypeUrls.LISTENER, "1", l);
  }

  public static ProxyConfig config(
      List<Listener> listeners, List<Cluster> clusters, List<ClusterLoadAssignment> endpoints)
      throws ConfigRejected {
    return resources(listeners, clusters, endpoints).toConfig();
  }
}
