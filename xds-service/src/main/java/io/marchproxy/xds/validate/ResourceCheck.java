package io.marchproxy.xds.validate;

import com.google.common.cache.Cache;
import com.google.common.cache.CacheBuilder;
import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.CidrRange;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.listener.v3.ListenerFilter;
import io.envoyproxy.envoy.config.rbac.v3.Policy;
import io.envoyproxy.envoy.config.rbac.v3.Principal;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.config.route.v3.WeightedCluster;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.rbac.v3.RBAC;
import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy;
import io.envoyproxy.envoy.extensions.filters.udp.udp_proxy.v3.UdpProxyConfig;
import io.marchproxy.xds.translate.DataPlane;
import io.marchproxy.xds.translate.EnvoyResources;
import io.marchproxy.xds.translate.ResourceNames;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Function;
import java.util.regex.Pattern;

/**
 * MarchProxy's own checks on a translation, before a snapshot is built from it: references resolve,
 * names and ports are unique, and each data-plane kind gets only what it accepts. What a proxy
 * would NACK is cheaper to find here: a NACK leaves that proxy on an older config, while a problem
 * here keeps every proxy of the cluster on the last good snapshot and says why.
 */
public final class ResourceCheck {

  static final String LISTENER = "Listener";
  static final String ROUTE = "RouteConfiguration";
  static final String CLUSTER = "Cluster";
  static final String ENDPOINTS = "ClusterLoadAssignment";

  /** The load balancers grpc-xds implements; any other makes it reject the cluster. */
  static final Set<Cluster.LbPolicy> GRPC_LB_POLICIES =
      Set.of(
          Cluster.LbPolicy.ROUND_ROBIN, Cluster.LbPolicy.RING_HASH, Cluster.LbPolicy.LEAST_REQUEST);

  /**
   * Assignments found without problems, by identity: a revision that changes one service of 1,000
   * re-checks one assignment (the others are the same messages; a message never changes). Weak
   * keys: entries go with the snapshots.
   */
  private static final Cache<ClusterLoadAssignment, Boolean> CLEAN =
      CacheBuilder.newBuilder().weakKeys().concurrencyLevel(4).build();

  private static final Cache<ClusterLoadAssignment, Boolean> CLEAN_IP_ONLY =
      CacheBuilder.newBuilder().weakKeys().concurrencyLevel(4).build();

  private ResourceCheck() {}

  public static List<Problem> problems(EnvoyResources resources, DataPlane plane) {
    var check = new Run(resources, plane);
    check.names();
    resources.listeners().forEach(check::listener);
    check.ports();
    resources.routes().forEach(check::routeConfiguration);
    resources.clusters().forEach(check::cluster);
    resources.endpoints().forEach(check::endpoints);
    return List.copyOf(check.out);
  }

  /** One check run: the resources' name sets, and the problems found so far. */
  private static final class Run {
    final EnvoyResources resources;
    final DataPlane plane;
    final boolean grpc;
    final Set<String> routeNames = new HashSet<>();
    final Set<String> clusterNames = new HashSet<>();
    final Set<String> endpointNames = new HashSet<>();
    final List<String> ports = new ArrayList<>();
    final List<Problem> out = new ArrayList<>();

    Run(EnvoyResources resources, DataPlane plane) {
      this.resources = resources;
      this.plane = plane;
      this.grpc = plane instanceof DataPlane.Grpc;
      resources.routes().forEach(r -> routeNames.add(r.getName()));
      resources.clusters().forEach(c -> clusterNames.add(c.getName()));
      resources.endpoints().forEach(e -> endpointNames.add(e.getClusterName()));
    }

    void names() {
      unique(LISTENER, resources.listeners(), Listener::getName);
      unique(ROUTE, resources.routes(), RouteConfiguration::getName);
      unique(CLUSTER, resources.clusters(), Cluster::getName);
      unique(ENDPOINTS, resources.endpoints(), ClusterLoadAssignment::getClusterName);
    }

    <T> void unique(String type, List<T> items, Function<T, String> name) {
      Set<String> seen = new HashSet<>();
      for (T item : items) {
        String n = name.apply(item);
        if (n.isEmpty()) {
          add(type, n, "has no name");
        } else if (!seen.add(n)) {
          add(type, n, "name is used by two resources");
        }
      }
    }

    void listener(Listener l) {
      String name = l.getName();
      if (l.hasApiListener()) {
        if (!grpc) {
          add(LISTENER, name, "has an api_listener, which Envoy refuses over LDS");
        }
        unpack(l.getApiListener().getApiListener(), HttpConnectionManager.class, LISTENER, name)
            .ifPresent(hcm -> connectionManager(name, hcm));
        return;
      }
      if (grpc) {
        add(LISTENER, name, "has no api_listener; proxyless gRPC clients need one");
        return;
      }
      if (!l.getAddress().hasSocketAddress()) {
        add(LISTENER, name, "has no socket address");
      } else {
        SocketAddress a = l.getAddress().getSocketAddress();
        if (a.getPortValue() < 1 || a.getPortValue() > 65535) {
          add(LISTENER, name, "port " + a.getPortValue() + " is not 1-65535");
        } else {
          ports.add(a.getProtocol() + "/" + a.getPortValue() + "/" + name);
        }
      }
      for (ListenerFilter f : l.getListenerFiltersList()) {
        if (f.getTypedConfig().is(UdpProxyConfig.class)) {
          unpack(f.getTypedConfig(), UdpProxyConfig.class, LISTENER, name)
              .ifPresent(u -> udpProxy(name, u));
        }
      }
      if (l.getFilterChainsCount() == 0
          && l.getListenerFiltersList().stream()
              .noneMatch(f -> f.getTypedConfig().is(UdpProxyConfig.class))) {
        add(LISTENER, name, "has no filter chain");
      }
      Set<String> chainNames = new HashSet<>();
      Set<String> serverNames = new HashSet<>();
      for (FilterChain chain : l.getFilterChainsList()) {
        if (!chain.getName().isEmpty() && !chainNames.add(chain.getName())) {
          add(LISTENER, name, "filter chain name '" + chain.getName() + "' is used twice");
        }
        for (String sni : chain.getFilterChainMatch().getServerNamesList()) {
          if (!serverNames.add(sni)) {
            add(LISTENER, name, "server name '" + sni + "' is matched by two filter chains");
          }
        }
        for (Filter f : chain.getFiltersList()) {
          networkFilter(name, f);
        }
      }
    }

    void networkFilter(String listener, Filter f) {
      Any config = f.getTypedConfig();
      if (config.is(HttpConnectionManager.class)) {
        unpack(config, HttpConnectionManager.class, LISTENER, listener)
            .ifPresent(hcm -> connectionManager(listener, hcm));
      } else if (config.is(TcpProxy.class)) {
        unpack(config, TcpProxy.class, LISTENER, listener)
            .ifPresent(t -> clusterExists(LISTENER, listener, t.getCluster(), "tcp_proxy"));
      } else if (config.is(RBAC.class)) {
        unpack(config, RBAC.class, LISTENER, listener).ifPresent(r -> rbac(listener, r));
      }
    }

    void connectionManager(String listener, HttpConnectionManager hcm) {
      if (!hcm.hasRds()) {
        add(LISTENER, listener, "connection manager does not take its routes over RDS");
      } else if (!routeNames.contains(hcm.getRds().getRouteConfigName())) {
        add(
            LISTENER,
            listener,
            "RDS route configuration '" + hcm.getRds().getRouteConfigName() + "' does not exist");
      }
      int filters = hcm.getHttpFiltersCount();
      if (filters == 0
          || !hcm.getHttpFilters(filters - 1).getName().equals(ResourceNames.ROUTER_FILTER)) {
        add(LISTENER, listener, "the router must be the last HTTP filter");
      }
    }

    void udpProxy(String listener, UdpProxyConfig u) {
      if (!u.hasMatcher() || !u.getMatcher().getOnNoMatch().hasAction()) {
        add(LISTENER, listener, "udp_proxy has no route");
        return;
      }
      unpack(
              u.getMatcher().getOnNoMatch().getAction().getTypedConfig(),
              io.envoyproxy.envoy.extensions.filters.udp.udp_proxy.v3.Route.class,
              LISTENER,
              listener)
          .ifPresent(r -> clusterExists(LISTENER, listener, r.getCluster(), "udp_proxy"));
    }

    void rbac(String listener, RBAC rbac) {
      for (Policy policy : rbac.getRules().getPoliciesMap().values()) {
        for (Principal p : policy.getPrincipalsList()) {
          CidrRange range =
              p.hasDirectRemoteIp()
                  ? p.getDirectRemoteIp()
                  : p.hasRemoteIp() ? p.getRemoteIp() : p.hasSourceIp() ? p.getSourceIp() : null;
          if (range != null
              && !(range.hasPrefixLen()
                  && Cidrs.validPrefix(
                      range.getAddressPrefix(), range.getPrefixLen().getValue()))) {
            add(LISTENER, listener, "rbac source '" + range.getAddressPrefix() + "' is not a CIDR");
          }
        }
      }
    }

    void ports() {
      Set<String> seen = new HashSet<>();
      for (String entry : new TreeSet<>(ports)) {
        String[] parts = entry.split("/", 3);
        if (!seen.add(parts[0] + "/" + parts[1])) {
          add(LISTENER, parts[2], parts[0] + " port " + parts[1] + " is used by another listener");
        }
      }
    }

    void routeConfiguration(RouteConfiguration rc) {
      Set<String> domains = new HashSet<>();
      Set<String> hosts = new HashSet<>();
      for (VirtualHost vh : rc.getVirtualHostsList()) {
        if (!hosts.add(vh.getName())) {
          add(ROUTE, rc.getName(), "virtual host '" + vh.getName() + "' is defined twice");
        }
        if (vh.getDomainsCount() == 0) {
          add(ROUTE, rc.getName(), "virtual host '" + vh.getName() + "' has no domains");
        }
        for (String d : vh.getDomainsList()) {
          if (!domains.add(d.toLowerCase(java.util.Locale.ROOT))) {
            add(ROUTE, rc.getName(), "domain '" + d + "' is in two virtual hosts");
          }
        }
        for (Route r : vh.getRoutesList()) {
          route(rc.getName(), r);
        }
      }
    }

    void route(String routeConfig, Route r) {
      String where = "route '" + r.getName() + "'";
      if (!r.hasRoute()) {
        return; // redirects and direct responses need no cluster
      }
      var action = r.getRoute();
      if (action.hasWeightedClusters()) {
        WeightedCluster wc = action.getWeightedClusters();
        long total = 0;
        for (WeightedCluster.ClusterWeight w : wc.getClustersList()) {
          clusterExists(ROUTE, routeConfig, w.getName(), where);
          total += w.getWeight().getValue();
        }
        if (total == 0) {
          add(ROUTE, routeConfig, where + " has weighted clusters that weigh nothing");
        }
      } else {
        clusterExists(ROUTE, routeConfig, action.getCluster(), where);
      }
    }

    void clusterExists(String type, String name, String cluster, String user) {
      if (!clusterNames.contains(cluster)) {
        add(type, name, user + " sends to cluster '" + cluster + "', which does not exist");
      }
    }

    void cluster(Cluster c) {
      String name = c.getName();
      switch (c.getType()) {
        case EDS -> {
          String service =
              c.getEdsClusterConfig().getServiceName().isEmpty()
                  ? name
                  : c.getEdsClusterConfig().getServiceName();
          if (!endpointNames.contains(service)) {
            add(CLUSTER, name, "EDS cluster has no ClusterLoadAssignment '" + service + "'");
          }
        }
        case STRICT_DNS, LOGICAL_DNS, STATIC -> {
          if (!c.hasLoadAssignment()) {
            add(CLUSTER, name, c.getType() + " cluster has no endpoints");
          }
        }
        default -> {}
      }
      if (grpc && c.getType() != Cluster.DiscoveryType.EDS) {
        add(CLUSTER, name, "is " + c.getType() + "; proxyless gRPC clients take only EDS clusters");
      }
      if (grpc && !GRPC_LB_POLICIES.contains(c.getLbPolicy())) {
        add(CLUSTER, name, "load balancer " + c.getLbPolicy() + " is unknown to grpc-xds");
      }
      if (c.hasLoadAssignment()) {
        localities(CLUSTER, name, c.getLoadAssignment(), false);
      }
    }

    void endpoints(ClusterLoadAssignment cla) {
      boolean ipOnly = plane instanceof DataPlane.Envoy;
      Cache<ClusterLoadAssignment, Boolean> clean = ipOnly ? CLEAN_IP_ONLY : CLEAN;
      if (clean.getIfPresent(cla) != null) {
        return; // this very message passed before (the translator reuses unchanged ones)
      }
      int before = out.size();
      localities(ENDPOINTS, cla.getClusterName(), cla, ipOnly);
      if (out.size() == before) {
        clean.put(cla, Boolean.TRUE);
      }
    }

    /**
     * grpc-xds drops a locality without a weight and refuses sparse priorities; Envoy refuses
     * hostnames in EDS endpoints.
     */
    void localities(String type, String name, ClusterLoadAssignment cla, boolean ipOnly) {
      Set<Integer> priorities = new TreeSet<>();
      for (LocalityLbEndpoints l : cla.getEndpointsList()) {
        priorities.add(l.getPriority());
        if (!l.hasLoadBalancingWeight() || l.getLoadBalancingWeight().getValue() < 1) {
          add(
              type,
              name,
              "locality "
                  + l.getLocality().getRegion()
                  + "/"
                  + l.getLocality().getZone()
                  + " has no load_balancing_weight");
        }
        for (LbEndpoint e : l.getLbEndpointsList()) {
          SocketAddress a = e.getEndpoint().getAddress().getSocketAddress();
          if (a.getAddress().isEmpty()) {
            add(type, name, "an endpoint has no address");
          } else if (ipOnly && !isIpLiteral(a.getAddress())) {
            add(type, name, "EDS endpoint '" + a.getAddress() + "' must be an IP address");
          }
          if (a.getPortValue() < 1 || a.getPortValue() > 65535) {
            add(type, name, "endpoint " + a.getAddress() + " port must be 1-65535");
          }
        }
      }
      int expected = 0;
      for (int p : priorities) {
        if (p != expected++) {
          add(type, name, "priorities must count up from 0 without gaps, found " + priorities);
          break;
        }
      }
    }

    <T extends Message> Optional<T> unpack(Any any, Class<T> type, String resource, String name) {
      try {
        return Optional.of(any.unpack(type));
      } catch (InvalidProtocolBufferException e) {
        add(resource, name, "unreadable " + type.getSimpleName() + ": " + e.getMessage());
        return Optional.empty();
      }
    }

    void add(String type, String name, String message) {
      out.add(new Problem(type, name, message));
    }
  }

  private static final Pattern IPV4 = Pattern.compile("^\\d{1,3}(\\.\\d{1,3}){3}$");

  static boolean isIpLiteral(String host) {
    return host.indexOf(':') >= 0 || IPV4.matcher(host).matches();
  }
}
