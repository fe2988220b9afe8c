package io.marchproxy.xds.translate;

import com.github.xds.core.v3.TypedExtensionConfig;
import com.github.xds.type.matcher.v3.Matcher;
import com.google.protobuf.Any;
import com.google.protobuf.ListValue;
import com.google.protobuf.Struct;
import com.google.protobuf.UInt32Value;
import com.google.protobuf.Value;
import com.google.protobuf.util.Durations;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.CidrRange;
import io.envoyproxy.envoy.config.core.v3.Metadata;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
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
import io.envoyproxy.envoy.extensions.filters.network.local_ratelimit.v3.LocalRateLimit;
import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy;
import io.envoyproxy.envoy.extensions.filters.udp.udp_proxy.v3.UdpProxyConfig;
import io.envoyproxy.envoy.type.v3.TokenBucket;
import io.marchproxy.core.config.ClusterConfig;
import io.marchproxy.core.config.MappingSpec;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

/** The l4 kind: a listener per mapping, and the clusters of the services mappings forward to. */
final class L4Translation {

  static final int DEFAULT_TCP_IDLE_TIMEOUT_MS = 3_600_000;
  static final int DEFAULT_UDP_IDLE_TIMEOUT_MS = 60_000;
  static final String ALLOWED_SOURCES_POLICY = "allowed-sources";
  static final String UDP_ROUTE_ACTION = "route";

  private L4Translation() {}

  static EnvoyResources translate(Document doc, DataPlane.L4 plane) {
    List<Listener> listeners = new ArrayList<>();
    Map<String, ClusterConfig.Service> used = new TreeMap<>();
    for (ClusterConfig.Mapping mapping : doc.mappings()) {
      listeners.add(listener(mapping, doc));
      doc.service(Document.spec(mapping).service()).ifPresent(s -> used.put(s.name(), s));
    }
    List<Cluster> clusters = new ArrayList<>();
    List<ClusterLoadAssignment> endpoints = new ArrayList<>();
    used.values()
        .forEach(
            s -> {
              clusters.add(ServiceClusters.cluster(s, plane));
              endpoints.add(ServiceClusters.loadAssignment(s));
            });
    return new EnvoyResources(listeners, List.of(), clusters, endpoints, List.of());
  }

  static Listener listener(ClusterConfig.Mapping mapping, Document doc) {
    MappingSpec spec = Document.spec(mapping);
    String name = ResourceNames.mappingListener(mapping.name());
    String cluster = ResourceNames.cluster(Document.or(spec.service(), ""));
    boolean udp = "udp".equals(mapping.protocol());
    Listener.Builder l =
        Listener.newBuilder()
            .setName(name)
            .setAddress(
                Address.newBuilder()
                    .setSocketAddress(
                        SocketAddress.newBuilder()
                            .setProtocol(
                                udp ? SocketAddress.Protocol.UDP : SocketAddress.Protocol.TCP)
                            .setAddress(EnvoyTranslation.ANY_ADDRESS)
                            .setPortValue(mapping.listenPort())))
            .setMetadata(
                Metadata.newBuilder()
                    .putFilterMetadata(ResourceNames.METADATA_NAMESPACE, knobs(mapping, spec)));
    if (udp) {
      UdpProxyConfig proxy =
          UdpProxyConfig.newBuilder()
              .setStatPrefix(name)
              .setMatcher(
                  Matcher.newBuilder()
                      .setOnNoMatch(
                          Matcher.OnMatch.newBuilder()
                              .setAction(
                                  TypedExtensionConfig.newBuilder()
                                      .setName(UDP_ROUTE_ACTION)
                                      .setTypedConfig(
                                          Any.pack(
                                              io.envoyproxy.envoy.extensions.filters.udp.udp_proxy
                                                  .v3.Route.newBuilder()
                                                  .setCluster(cluster)
                                                  .build())))))
              .setIdleTimeout(
                  Durations.fromMillis(
                      Document.or(spec.idleTimeoutMs(), DEFAULT_UDP_IDLE_TIMEOUT_MS)))
              .build();
      return l.setUdpListenerConfig(UdpListenerConfig.getDefaultInstance())
          .addListenerFilters(
              ListenerFilter.newBuilder()
                  .setName(ResourceNames.UDP_PROXY)
                  .setTypedConfig(Any.pack(proxy)))
          .build();
    }
    if (Boolean.TRUE.equals(spec.acceptProxyProtocol())) {
      l.addListenerFilters(
          ListenerFilter.newBuilder()
              .setName(ResourceNames.PROXY_PROTOCOL)
              .setTypedConfig(Any.pack(ProxyProtocol.getDefaultInstance())));
    }
    FilterChain.Builder chain = FilterChain.newBuilder();
    List<String> cidrs = cidrs(spec, doc);
    if (!cidrs.isEmpty()) {
      chain.addFilters(
          Filter.newBuilder()
              .setName(ResourceNames.NETWORK_RBAC)
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
                          .setStatPrefix(name)
                          .setRules(allowOnly(cidrs, spec))
                          .build())));
    }
    if (spec.perSourceLimits() != null && spec.perSourceLimits().connectionsPerSecond() != null) {
      int perSecond = spec.perSourceLimits().connectionsPerSecond();
      chain.addFilters(
          Filter.newBuilder()
              .setName(ResourceNames.NETWORK_LOCAL_RATELIMIT)
              .setTypedConfig(
                  Any.pack(
                      LocalRateLimit.newBuilder()
                          .setStatPrefix(name)
                          .setTokenBucket(
                              TokenBucket.newBuilder()
                                  .setMaxTokens(perSecond)
                                  .setTokensPerFill(UInt32Value.of(perSecond))
                                  .setFillInterval(Durations.fromSeconds(1)))
                          .build())));
    }
    chain.addFilters(
        Filter.newBuilder()
            .setName(ResourceNames.TCP_PROXY)
            .setTypedConfig(
                Any.pack(
                    TcpProxy.newBuilder()
                        .setStatPrefix(name)
                        .setCluster(cluster)
                        .setIdleTimeout(
                            Durations.fromMillis(
                                Document.or(spec.idleTimeoutMs(), DEFAULT_TCP_IDLE_TIMEOUT_MS)))
                        .build())));
    return l.addFilterChains(chain).build();
  }

  /**
   * The allowed source ranges: the operator's CIDRs, and each endpoint address of the services
   * named in {@code allowedSources.services} (service-to-service access: the backends of that
   * service may connect). An endpoint given by hostname has no fixed address and is left out.
   */
  private static List<String> cidrs(MappingSpec spec, Document doc) {
    if (spec.allowedSources() == null) {
      return List.of();
    }
    TreeSet<String> out = new TreeSet<>();
    Document.list(spec.allowedSources().cidrs()).stream()
        .filter(c -> c != null && !c.isBlank())
        .forEach(out::add);
    for (String name : Document.list(spec.allowedSources().services())) {
      if (name == null) {
        continue;
      }
      doc.service(name)
          .ifPresent(
              service ->
                  Document.list(Document.spec(service).endpoints()).stream()
                      .filter(e -> e != null && e.host() != null && isIpLiteral(e.host()))
                      .forEach(e -> out.add(e.host() + (e.host().contains(":") ? "/128" : "/32"))));
    }
    return List.copyOf(out);
  }

  private static final java.util.regex.Pattern IPV4 =
      java.util.regex.Pattern.compile("^(\\d{1,3})\\.(\\d{1,3})\\.(\\d{1,3})\\.(\\d{1,3})$");

  static boolean isIpLiteral(String host) {
    if (host.contains(":")) {
      return host.matches("^[0-9a-fA-F:.]+$");
    }
    var m = IPV4.matcher(host);
    if (!m.matches()) {
      return false;
    }
    for (int i = 1; i <= 4; i++) {
      if (Integer.parseInt(m.group(i)) > 255) {
        return false;
      }
    }
    return true;
  }

  /**
   * Behind a PROXY-protocol load balancer the peer is the balancer; the client's own address
   * (remote_ip) is what the operator's CIDRs mean then.
   */
  private static RBAC allowOnly(List<String> cidrs, MappingSpec spec) {
    boolean proxied = Boolean.TRUE.equals(spec.acceptProxyProtocol());
    Policy.Builder policy =
        Policy.newBuilder().addPermissions(Permission.newBuilder().setAny(true));
    for (String cidr : cidrs) {
      CidrRange range = cidrRange(cidr);
      policy.addPrincipals(
          proxied
              ? Principal.newBuilder().setRemoteIp(range).build()
              : Principal.newBuilder().setDirectRemoteIp(range).build());
    }
    return RBAC.newBuilder()
        .setAction(RBAC.Action.ALLOW)
        .putPolicies(ALLOWED_SOURCES_POLICY, policy.build())
        .build();
  }

  static CidrRange cidrRange(String cidr) {
    int slash = cidr.indexOf('/');
    String address = slash < 0 ? cidr : cidr.substring(0, slash);
    int bits;
    try {
      bits =
          slash < 0
              ? (address.contains(":") ? 128 : 32)
              : Integer.parseInt(cidr.substring(slash + 1));
    } catch (NumberFormatException e) {
      bits = -1; // left for validation to report; Envoy would refuse it
    }
    CidrRange.Builder r = CidrRange.newBuilder().setAddressPrefix(address);
    if (bits >= 0) {
      r.setPrefixLen(UInt32Value.of(bits));
    }
    return r.build();
  }

  /**
   * What only MarchProxy's L4 proxy and XDP program act on. Defaults are written out so the proxy
   * never has to guess them. perSourceLimits are per source address here; Envoy's own
   * local_ratelimit (above) shares one bucket across sources, so it is the listener-wide backstop.
   */
  private static Struct knobs(ClusterConfig.Mapping mapping, MappingSpec spec) {
    Struct.Builder s = Struct.newBuilder();
    s.putFields("mapping", string(mapping.name()));
    s.putFields("service", string(Document.or(spec.service(), "")));
    s.putFields("bandwidthClass", string(Document.or(spec.bandwidthClass(), "unlimited")));
    s.putFields("sendProxyProtocol", string(Document.or(spec.sendProxyProtocol(), "none")));
    s.putFields(
        "acceptProxyProtocol",
        Value.newBuilder().setBoolValue(Boolean.TRUE.equals(spec.acceptProxyProtocol())).build());
    if (spec.perSourceLimits() != null) {
      Struct.Builder limits = Struct.newBuilder();
      if (spec.perSourceLimits().connectionsPerSecond() != null) {
        limits.putFields(
            "connectionsPerSecond", number(spec.perSourceLimits().connectionsPerSecond()));
      }
      if (spec.perSourceLimits().maxConnections() != null) {
        limits.putFields("maxConnections", number(spec.perSourceLimits().maxConnections()));
      }
      s.putFields("perSourceLimits", Value.newBuilder().setStructValue(limits).build());
    }
    if (spec.allowedSources() != null && spec.allowedSources().services() != null) {
      TreeSet<String> services = new TreeSet<>();
      spec.allowedSources().services().stream().filter(x -> x != null).forEach(services::add);
      ListValue.Builder list = ListValue.newBuilder();
      services.forEach(x -> list.addValues(string(x)));
      s.putFields("allowedServices", Value.newBuilder().setListValue(list).build());
    }
    return s.build();
  }

  private static Value string(String s) {
    return Value.newBuilder().setStringValue(s).build();
  }

  private static Value number(int n) {
    return Value.newBuilder().setNumberValue(n).build();
  }
}
