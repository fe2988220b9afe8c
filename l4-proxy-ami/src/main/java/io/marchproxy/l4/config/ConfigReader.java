package io.marchproxy.l4.config;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.cluster.v3.CircuitBreakers;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.cluster.v3.OutlierDetection;
import io.envoyproxy.envoy.config.core.v3.HealthCheck;
import io.envoyproxy.envoy.config.core.v3.HealthStatus;
import io.envoyproxy.envoy.config.core.v3.Locality;
import io.envoyproxy.envoy.config.core.v3.RoutingPriority;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChainMatch;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.listener.v3.ListenerFilter;
import io.envoyproxy.envoy.config.rbac.v3.Permission;
import io.envoyproxy.envoy.config.rbac.v3.Policy;
import io.envoyproxy.envoy.config.rbac.v3.Principal;
import io.envoyproxy.envoy.extensions.filters.network.connection_limit.v3.ConnectionLimit;
import io.envoyproxy.envoy.extensions.filters.network.local_ratelimit.v3.LocalRateLimit;
import io.envoyproxy.envoy.extensions.filters.network.rbac.v3.RBAC;
import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy;
import io.envoyproxy.envoy.extensions.filters.udp.udp_proxy.v3.Route;
import io.envoyproxy.envoy.extensions.filters.udp.udp_proxy.v3.UdpProxyConfig;
import io.marchproxy.l4.config.ListenerSpec.FilterChain;
import io.marchproxy.l4.config.ListenerSpec.TcpRoute;
import io.marchproxy.l4.config.ListenerSpec.TokenBucket;
import io.marchproxy.l4.config.MappingMeta.ProxyProtocolVersion;
import io.marchproxy.l4.policy.Cidr;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Reads Envoy v3 resources into what the proxy runs. Anything the proxy would have to ignore to run
 * a resource (an unknown filter, an unsupported policy) is refused with a message naming the
 * resource and the field: the proxy NACKs rather than run something other than what was asked.
 */
public final class ConfigReader {

  public static final Set<String> BANDWIDTH_CLASSES =
      Set.of("unlimited", "gold", "silver", "bronze");

  static final String META = "marchproxy";
  static final String RBAC_FILTER = "envoy.filters.network.rbac";
  static final String RATE_FILTER = "envoy.filters.network.local_ratelimit";
  static final String LIMIT_FILTER = "envoy.filters.network.connection_limit";
  static final String TCP_PROXY = "envoy.filters.network.tcp_proxy";
  static final String PROXY_PROTOCOL = "envoy.filters.listener.proxy_protocol";
  static final String TLS_INSPECTOR = "envoy.filters.listener.tls_inspector";
  static final String UDP_PROXY = "envoy.filters.udp_listener.udp_proxy";

  /** Envoy's defaults where the resource leaves a field unset. */
  static final Duration DEFAULT_TCP_IDLE = Duration.ofHours(1);

  static final Duration DEFAULT_UDP_IDLE = Duration.ofSeconds(60);
  static final Duration DEFAULT_CONNECT_TIMEOUT = Duration.ofSeconds(5);
  static final long DEFAULT_MAX_CONNECTIONS = 1024;

  /** tcp_proxy without max_connect_attempts: try up to this many endpoints (Envoy: 1). */
  static final int DEFAULT_CONNECT_ATTEMPTS = 3;

  private ConfigReader() {}

  // ----------------------------------------------------------------------------------------
  // Listeners

  public static ListenerSpec listener(Listener l) throws ConfigRejected {
    String name = l.getName();
    if (name.isEmpty()) {
      throw new ConfigRejected("listener without a name");
    }
    String where = "listener " + name;
    if (!l.getAddress().hasSocketAddress()) {
      throw new ConfigRejected(where + ": address must be a socket address");
    }
    SocketAddress sa = l.getAddress().getSocketAddress();
    InetSocketAddress address = socket(where + ": address", sa);
    MappingMeta meta = meta(where, l.getMetadata().getFilterMetadataMap().get(META), name);
    boolean udp = sa.getProtocol() == SocketAddress.Protocol.UDP || l.hasUdpListenerConfig();
    return udp
        ? udpListener(where, name, address, l, meta)
        : tcpListener(where, name, address, l, meta);
  }

  private static ListenerSpec.Udp udpListener(
      String where, String name, InetSocketAddress address, Listener l, MappingMeta meta)
      throws ConfigRejected {
    if (l.getFilterChainsCount() > 0) {
      throw new ConfigRejected(where + ": a UDP listener takes no filter chains");
    }
    UdpProxyConfig udp = null;
    for (ListenerFilter f : l.getListenerFiltersList()) {
      if (!f.getName().equals(UDP_PROXY)) {
        throw new ConfigRejected(where + ": unsupported UDP listener filter " + f.getName());
      }
      udp = unpack(where, f.getTypedConfig(), UdpProxyConfig.class);
    }
    if (udp == null) {
      throw new ConfigRejected(where + ": a UDP listener needs " + UDP_PROXY);
    }
    String cluster;
    if (!udp.getCluster().isEmpty()) {
      cluster = udp.getCluster();
    } else if (udp.hasMatcher()
        && udp.getMatcher().getMatcherListOrBuilder().getMatchersCount() == 0
        && !udp.getMatcher().hasMatcherTree()
        && udp.getMatcher().getOnNoMatch().hasAction()) {
      cluster =
          unpack(where, udp.getMatcher().getOnNoMatch().getAction().getTypedConfig(), Route.class)
              .getCluster();
    } else {
      throw new ConfigRejected(
          where + ": udp_proxy must route every datagram to one cluster (on_no_match)");
    }
    if (cluster.isEmpty()) {
      throw new ConfigRejected(where + ": udp_proxy route has no cluster");
    }
    Duration idle = udp.hasIdleTimeout() ? duration(udp.getIdleTimeout()) : DEFAULT_UDP_IDLE;
    return new ListenerSpec.Udp(name, address, cluster, idle, meta);
  }

  private static ListenerSpec.Tcp tcpListener(
      String where, String name, InetSocketAddress address, Listener l, MappingMeta meta)
      throws ConfigRejected {
    boolean acceptProxyProtocol = false;
    boolean inspectTls = false;
    for (ListenerFilter f : l.getListenerFiltersList()) {
      switch (f.getName()) {
        case PROXY_PROTOCOL -> acceptProxyProtocol = true;
        case TLS_INSPECTOR -> inspectTls = true;
        default -> throw new ConfigRejected(where + ": unsupported listener filter " + f.getName());
      }
    }
    if (l.getFilterChainsCount() == 0 && !l.hasDefaultFilterChain()) {
      throw new ConfigRejected(where + ": no filter chain");
    }
    List<FilterChain> chains = new ArrayList<>();
    for (int i = 0; i < l.getFilterChainsCount(); i++) {
      chains.add(chain(where + ": filter chain " + i, l.getFilterChains(i)));
    }
    if (l.hasDefaultFilterChain()) {
      FilterChain d = chain(where + ": default filter chain", l.getDefaultFilterChain());
      if (!d.serverNames().isEmpty()) {
        throw new ConfigRejected(where + ": the default filter chain cannot match server names");
      }
      chains.add(d);
    }
    long withoutNames = chains.stream().filter(c -> c.serverNames().isEmpty()).count();
    if (withoutNames > 1) {
      throw new ConfigRejected(where + ": more than one filter chain matches every connection");
    }
    // Chains with server names are tried first; the catch-all last.
    chains.sort((a, b) -> Boolean.compare(a.serverNames().isEmpty(), b.serverNames().isEmpty()));
    boolean bySni = chains.stream().anyMatch(c -> !c.serverNames().isEmpty());
    if (bySni && !inspectTls) {
      throw new ConfigRejected(
          where + ": filter chains match server names but " + TLS_INSPECTOR + " is missing");
    }
    return new ListenerSpec.Tcp(name, address, chains, acceptProxyProtocol, inspectTls, meta);
  }

  private static FilterChain chain(
      String where, io.envoyproxy.envoy.config.listener.v3.FilterChain fc) throws ConfigRejected {
    if (fc.hasTransportSocket()) {
      throw new ConfigRejected(where + ": TLS termination is not supported by the L4 proxy");
    }
    FilterChainMatch m = fc.getFilterChainMatch();
    FilterChainMatch onlyNames = m.toBuilder().clearServerNames().clearTransportProtocol().build();
    if (!onlyNames.equals(FilterChainMatch.getDefaultInstance())) {
      throw new ConfigRejected(where + ": filter_chain_match supports only server_names");
    }
    Rbac rbac = null;
    TokenBucket rate = null;
    long limit = 0;
    TcpRoute route = null;
    for (int i = 0; i < fc.getFiltersCount(); i++) {
      Filter f = fc.getFilters(i);
      if (route != null) {
        throw new ConfigRejected(where + ": " + TCP_PROXY + " must be the last filter");
      }
      String fw = where + ": filter " + f.getName();
      switch (f.getName()) {
        case RBAC_FILTER -> rbac = rbac(fw, unpack(fw, f.getTypedConfig(), RBAC.class));
        case RATE_FILTER ->
            rate = tokenBucket(fw, unpack(fw, f.getTypedConfig(), LocalRateLimit.class));
        case LIMIT_FILTER -> {
          ConnectionLimit cl = unpack(fw, f.getTypedConfig(), ConnectionLimit.class);
          if (!cl.hasMaxConnections() || cl.getMaxConnections().getValue() < 1) {
            throw new ConfigRejected(fw + ": max_connections must be at least 1");
          }
          limit = cl.getMaxConnections().getValue();
        }
        case TCP_PROXY -> route = tcpRoute(fw, unpack(fw, f.getTypedConfig(), TcpProxy.class));
        default -> throw new ConfigRejected(where + ": unsupported network filter " + f.getName());
      }
    }
    if (route == null) {
      throw new ConfigRejected(where + ": needs " + TCP_PROXY + " as its last filter");
    }
    return new FilterChain(m.getServerNamesList(), rbac, rate, limit, route);
  }

  private static TcpRoute tcpRoute(String where, TcpProxy p) throws ConfigRejected {
    if (p.getCluster().isEmpty()) {
      throw new ConfigRejected(
          where + ": needs a cluster (weighted_clusters is not supported by the L4 proxy)");
    }
    Duration idle = p.hasIdleTimeout() ? duration(p.getIdleTimeout()) : DEFAULT_TCP_IDLE;
    int attempts =
        p.hasMaxConnectAttempts()
            ? Math.max(1, p.getMaxConnectAttempts().getValue())
            : DEFAULT_CONNECT_ATTEMPTS;
    return new TcpRoute(p.getCluster(), idle, attempts);
  }

  private static Rbac rbac(String where, RBAC filter) throws ConfigRejected {
    if (!filter.hasRules()) {
      return null; // Envoy: no rules, no enforcement
    }
    var rules = filter.getRules();
    boolean allow;
    switch (rules.getAction()) {
      case ALLOW -> allow = true;
      case DENY -> allow = false;
      default ->
          throw new ConfigRejected(where + ": action " + rules.getAction() + " is not supported");
    }
    List<Rbac.Principal> principals = new ArrayList<>();
    for (var e : new java.util.TreeMap<>(rules.getPoliciesMap()).entrySet()) {
      Policy p = e.getValue();
      String pw = where + ": policy " + e.getKey();
      for (Permission perm : p.getPermissionsList()) {
        if (!perm.getAny()) {
          throw new ConfigRejected(pw + ": only permission any is supported");
        }
      }
      if (p.getPermissionsCount() == 0) {
        throw new ConfigRejected(pw + ": no permissions");
      }
      for (Principal pr : p.getPrincipalsList()) {
        principal(pw, pr, principals);
      }
    }
    return new Rbac(allow, principals);
  }

  private static void principal(String where, Principal p, List<Rbac.Principal> out)
      throws ConfigRejected {
    switch (p.getIdentifierCase()) {
      case ANY -> out.add(new Rbac.Any());
      case DIRECT_REMOTE_IP -> out.add(new Rbac.SourceIp(cidr(where, p.getDirectRemoteIp()), true));
      case SOURCE_IP -> out.add(new Rbac.SourceIp(cidr(where, p.getSourceIp()), true));
      case REMOTE_IP -> out.add(new Rbac.SourceIp(cidr(where, p.getRemoteIp()), false));
      case OR_IDS -> {
        for (Principal inner : p.getOrIds().getIdsList()) {
          principal(where, inner, out);
        }
      }
      default ->
          throw new ConfigRejected(
              where + ": principal " + p.getIdentifierCase() + " is not supported by the L4 proxy");
    }
  }

  private static Cidr cidr(String where, io.envoyproxy.envoy.config.core.v3.CidrRange r)
      throws ConfigRejected {
    try {
      return Cidr.of(r.getAddressPrefix(), r.hasPrefixLen() ? r.getPrefixLen().getValue() : 0);
    } catch (IllegalArgumentException e) {
      throw new ConfigRejected(
          where + ": bad CIDR " + r.getAddressPrefix() + ": " + e.getMessage());
    }
  }

  private static TokenBucket tokenBucket(String where, LocalRateLimit r) throws ConfigRejected {
    if (!r.hasTokenBucket()) {
      throw new ConfigRejected(where + ": token_bucket is required");
    }
    var b = r.getTokenBucket();
    Duration fill = duration(b.getFillInterval());
    long perFill = b.hasTokensPerFill() ? b.getTokensPerFill().getValue() : 1;
    if (b.getMaxTokens() < 1 || perFill < 1 || fill.toMillis() < 1) {
      throw new ConfigRejected(
          where + ": token_bucket needs max_tokens ≥ 1, tokens_per_fill ≥ 1 and a fill_interval");
    }
    return new TokenBucket(b.getMaxTokens(), perFill, fill);
  }

  private static MappingMeta meta(String where, Struct s, String listenerName)
      throws ConfigRejected {
    MappingMeta d = MappingMeta.defaults(listenerName);
    if (s == null) {
      return d;
    }
    var f = s.getFieldsMap();
    String bandwidth = string(f, "bandwidthClass", d.bandwidthClass());
    if (!BANDWIDTH_CLASSES.contains(bandwidth)) {
      throw new ConfigRejected(
          where
              + ": metadata marchproxy.bandwidthClass "
              + bandwidth
              + " is not one of "
              + new java.util.TreeSet<>(BANDWIDTH_CLASSES));
    }
    ProxyProtocolVersion send =
        switch (string(f, "sendProxyProtocol", "none")) {
          case "none" -> ProxyProtocolVersion.NONE;
          case "v1" -> ProxyProtocolVersion.V1;
          case "v2" -> ProxyProtocolVersion.V2;
          default ->
              throw new ConfigRejected(
                  where + ": metadata marchproxy.sendProxyProtocol must be none, v1 or v2");
        };
    Struct limits =
        f.containsKey("perSourceLimits")
            ? f.get("perSourceLimits").getStructValue()
            : Struct.getDefaultInstance();
    double cps = number(where, limits.getFieldsMap(), "connectionsPerSecond");
    double maxPerSource = number(where, limits.getFieldsMap(), "maxConnections");
    double max = number(where, f, "maxConnections");
    List<String> services = new ArrayList<>();
    if (f.containsKey("allowedServices")) {
      for (Value v : f.get("allowedServices").getListValue().getValuesList()) {
        services.add(v.getStringValue());
      }
    }
    return new MappingMeta(
        string(f, "mapping", d.mapping()),
        string(f, "service", ""),
        bandwidth,
        send,
        cps,
        (long) maxPerSource,
        (long) max,
        services);
  }

  private static String string(java.util.Map<String, Value> f, String key, String dflt) {
    Value v = f.get(key);
    return v == null || v.getKindCase() != Value.KindCase.STRING_VALUE ? dflt : v.getStringValue();
  }

  private static double number(String where, java.util.Map<String, Value> f, String key)
      throws ConfigRejected {
    Value v = f.get(key);
    if (v == null) {
      return 0;
    }
    if (v.getKindCase() != Value.KindCase.NUMBER_VALUE || v.getNumberValue() < 0) {
      throw new ConfigRejected(where + ": metadata marchproxy." + key + " must be a number ≥ 0");
    }
    return v.getNumberValue();
  }

  // ----------------------------------------------------------------------------------------
  // Clusters

  public static ClusterSpec cluster(Cluster c) throws ConfigRejected {
    String name = c.getName();
    if (name.isEmpty()) {
      throw new ConfigRejected("cluster without a name");
    }
    String where = "cluster " + name;
    switch (c.getType()) {
      case EDS, STATIC, STRICT_DNS, LOGICAL_DNS -> {}
      default ->
          throw new ConfigRejected(where + ": discovery type " + c.getType() + " is not supported");
    }
    if (c.hasTransportSocket()) {
      throw new ConfigRejected(
          where + ": upstream TLS is not supported by the L4 proxy (it passes TLS through)");
    }
    ClusterSpec.LbPolicy lb =
        switch (c.getLbPolicy()) {
          case ROUND_ROBIN -> ClusterSpec.LbPolicy.ROUND_ROBIN;
          case LEAST_REQUEST -> ClusterSpec.LbPolicy.LEAST_REQUEST;
          case RING_HASH -> ClusterSpec.LbPolicy.RING_HASH;
          case MAGLEV -> ClusterSpec.LbPolicy.MAGLEV;
          case RANDOM -> ClusterSpec.LbPolicy.RANDOM;
          default ->
              throw new ConfigRejected(
                  where + ": lb_policy " + c.getLbPolicy() + " is not supported");
        };
    Duration connect =
        c.hasConnectTimeout() ? duration(c.getConnectTimeout()) : DEFAULT_CONNECT_TIMEOUT;
    if (connect.isZero() || connect.isNegative()) {
      throw new ConfigRejected(where + ": connect_timeout must be positive");
    }
    long max = DEFAULT_MAX_CONNECTIONS;
    for (CircuitBreakers.Thresholds t : c.getCircuitBreakers().getThresholdsList()) {
      if (t.getPriority() == RoutingPriority.DEFAULT && t.hasMaxConnections()) {
        max = t.getMaxConnections().getValue();
      }
    }
    if (c.getHealthChecksCount() > 1) {
      throw new ConfigRejected(where + ": at most one health check is supported");
    }
    ClusterSpec.HealthCheck hc = null;
    if (c.getHealthChecksCount() == 1) {
      hc = healthCheck(where + ": health check", c.getHealthChecks(0));
    }
    return new ClusterSpec(name, lb, connect, max, hc, outlier(c));
  }

  private static ClusterSpec.HealthCheck healthCheck(String where, HealthCheck h)
      throws ConfigRejected {
    switch (h.getHealthCheckerCase()) {
      case TCP_HEALTH_CHECK -> {
        if (h.getTcpHealthCheck().hasSend() || h.getTcpHealthCheck().getReceiveCount() > 0) {
          throw new ConfigRejected(where + ": tcp_health_check payloads are not supported");
        }
      }
      // An L4 proxy checks that the endpoint accepts connections, whatever it speaks.
      case HTTP_HEALTH_CHECK, GRPC_HEALTH_CHECK -> {}
      default ->
          throw new ConfigRejected(where + ": " + h.getHealthCheckerCase() + " is not supported");
    }
    Duration interval = duration(h.getInterval());
    Duration timeout = duration(h.getTimeout());
    int healthy = h.hasHealthyThreshold() ? h.getHealthyThreshold().getValue() : 1;
    int unhealthy = h.hasUnhealthyThreshold() ? h.getUnhealthyThreshold().getValue() : 1;
    if (interval.toMillis() < 1 || timeout.toMillis() < 1 || healthy < 1 || unhealthy < 1) {
      throw new ConfigRejected(where + ": interval, timeout and thresholds must be positive");
    }
    return new ClusterSpec.HealthCheck(interval, timeout, healthy, unhealthy);
  }

  private static ClusterSpec.Outlier outlier(Cluster c) {
    if (!c.hasOutlierDetection()) {
      return ClusterSpec.Outlier.DEFAULT;
    }
    OutlierDetection o = c.getOutlierDetection();
    int failures =
        o.hasConsecutiveLocalOriginFailure()
            ? o.getConsecutiveLocalOriginFailure().getValue()
            : o.hasConsecutiveGatewayFailure()
                ? o.getConsecutiveGatewayFailure().getValue()
                : o.hasConsecutive5Xx() ? o.getConsecutive5Xx().getValue() : 5;
    Duration base =
        o.hasBaseEjectionTime() ? duration(o.getBaseEjectionTime()) : Duration.ofSeconds(30);
    int pct = o.hasMaxEjectionPercent() ? o.getMaxEjectionPercent().getValue() : 10;
    return new ClusterSpec.Outlier(Math.max(1, failures), base, Math.min(100, pct));
  }

  /** The endpoints a non-EDS cluster carries inline. */
  public static Optional<EndpointsSpec> inlineEndpoints(Cluster c) throws ConfigRejected {
    if (c.getType() == Cluster.DiscoveryType.EDS) {
      return Optional.empty();
    }
    var cla = c.getLoadAssignment().toBuilder().setClusterName(c.getName()).build();
    return Optional.of(endpoints(cla));
  }

  // ----------------------------------------------------------------------------------------
  // Endpoints

  public static EndpointsSpec endpoints(ClusterLoadAssignment cla) throws ConfigRejected {
    String name = cla.getClusterName();
    if (name.isEmpty()) {
      throw new ConfigRejected("ClusterLoadAssignment without a cluster_name");
    }
    String where = "endpoints " + name;
    List<EndpointsSpec.Endpoint> out = new ArrayList<>();
    for (LocalityLbEndpoints group : cla.getEndpointsList()) {
      String locality = locality(group.getLocality());
      for (LbEndpoint e : group.getLbEndpointsList()) {
        if (!e.hasEndpoint() || !e.getEndpoint().getAddress().hasSocketAddress()) {
          throw new ConfigRejected(where + ": an endpoint without a socket address");
        }
        SocketAddress sa = e.getEndpoint().getAddress().getSocketAddress();
        if (sa.getAddress().isEmpty()
            || sa.getPortSpecifierCase() != SocketAddress.PortSpecifierCase.PORT_VALUE
            || sa.getPortValue() < 1
            || sa.getPortValue() > 65535) {
          throw new ConfigRejected(
              where + ": endpoint " + sa.getAddress() + " needs a port value 1–65535");
        }
        int weight = e.hasLoadBalancingWeight() ? e.getLoadBalancingWeight().getValue() : 1;
        if (weight < 1) {
          throw new ConfigRejected(where + ": endpoint " + sa.getAddress() + " has weight 0");
        }
        boolean healthy =
            switch (e.getHealthStatus()) {
              case UNHEALTHY, DRAINING, TIMEOUT -> false;
              default -> e.getHealthStatus() != HealthStatus.UNRECOGNIZED;
            };
        out.add(
            new EndpointsSpec.Endpoint(
                sa.getAddress(),
                sa.getPortValue(),
                weight,
                group.getPriority(),
                locality,
                healthy));
      }
    }
    return new EndpointsSpec(name, out);
  }

  private static String locality(Locality l) {
    return String.join("/", l.getRegion(), l.getZone(), l.getSubZone()).replaceAll("/+$", "");
  }

  // ----------------------------------------------------------------------------------------

  private static InetSocketAddress socket(String where, SocketAddress sa) throws ConfigRejected {
    if (sa.getPortSpecifierCase() != SocketAddress.PortSpecifierCase.PORT_VALUE
        || sa.getPortValue() < 1
        || sa.getPortValue() > 65535) {
      throw new ConfigRejected(where + " needs a port value 1–65535");
    }
    String host = sa.getAddress();
    if (host.isEmpty() || !(host.contains(":") || host.matches("[0-9.]+"))) {
      throw new ConfigRejected(
          where + " must be an IP address, not " + (host.isEmpty() ? "empty" : host));
    }
    try {
      return new InetSocketAddress(InetAddress.getByName(host), sa.getPortValue());
    } catch (java.net.UnknownHostException e) {
      throw new ConfigRejected(where + " is not an IP address: " + host);
    }
  }

  private static <T extends Message> T unpack(String where, Any any, Class<T> type)
      throws ConfigRejected {
    try {
      return any.unpack(type);
    } catch (InvalidProtocolBufferException e) {
      throw new ConfigRejected(
          where
              + ": typed_config is not a "
              + type.getSimpleName()
              + " ("
              + any.getTypeUrl()
              + ")");
    }
  }

  static Duration duration(com.google.protobuf.Duration d) {
    return Duration.ofSeconds(d.getSeconds(), d.getNanos());
  }
}
