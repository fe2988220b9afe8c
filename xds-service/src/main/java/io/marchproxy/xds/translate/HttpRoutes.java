package io.marchproxy.xds.translate;

import com.google.protobuf.Any;
import com.google.protobuf.ListValue;
import com.google.protobuf.Struct;
import com.google.protobuf.UInt32Value;
import com.google.protobuf.Value;
import com.google.protobuf.util.Durations;
import io.envoyproxy.envoy.config.core.v3.Metadata;
import io.envoyproxy.envoy.config.route.v3.FilterConfig;
import io.envoyproxy.envoy.config.route.v3.HeaderMatcher;
import io.envoyproxy.envoy.config.route.v3.RetryPolicy;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.envoyproxy.envoy.config.route.v3.RouteMatch;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.config.route.v3.WeightedCluster;
import io.envoyproxy.envoy.type.matcher.v3.RegexMatcher;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import io.marchproxy.core.config.ClusterConfig;
import io.marchproxy.core.config.RouteSpec;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/** MarchProxy routes → Envoy virtual hosts and routes (envoy and grpc kinds). */
final class HttpRoutes {

  /** Retried when the operator asks for retries without saying on what: safe for any method. */
  static final List<String> DEFAULT_RETRY_ON = List.of("connect-failure", "refused-stream");

  /** What grpc-xds understands in retry_on; HTTP-level conditions become UNAVAILABLE for it. */
  private static final Map<String, String> GRPC_RETRY_ON =
      Map.of(
          "5xx", "unavailable",
          "gateway-error", "unavailable",
          "reset", "unavailable",
          "connect-failure", "unavailable",
          "refused-stream", "unavailable",
          "unavailable", "unavailable",
          "cancelled", "cancelled");

  /** grpc-xds only hashes on headers or this filter state key: one ring position per channel. */
  static final String GRPC_CHANNEL_ID = "io.grpc.channel_id";

  private HttpRoutes() {}

  /** First match wins in Envoy: higher priority first, then by name so ties are stable. */
  static final Comparator<ClusterConfig.Route> ORDER =
      Comparator.comparingInt(
              (ClusterConfig.Route r) -> -Document.or(Document.spec(r).priority(), 0))
          .thenComparing(ClusterConfig.Route::name);

  /** A route's hosts, distinct and sorted; a route without hosts matches any host. */
  static Set<String> hosts(ClusterConfig.Route route) {
    List<String> hosts = Document.list(Document.spec(route).hosts());
    TreeSet<String> out = new TreeSet<>();
    hosts.stream().filter(h -> h != null && !h.isBlank()).forEach(out::add);
    if (out.isEmpty()) {
      out.add("*");
    }
    return out;
  }

  /**
   * One virtual host per set of hosts that share exactly the same routes. Envoy refuses a domain in
   * two virtual hosts of one route configuration, so overlapping host lists are split by host first
   * and grouped again; the virtual host is named after its first domain.
   */
  static List<VirtualHost> virtualHosts(Document doc, DataPlane plane, L7Filters.Chain chain) {
    Map<String, List<ClusterConfig.Route>> byHost = new TreeMap<>();
    for (ClusterConfig.Route route : doc.routes().stream().sorted(ORDER).toList()) {
      for (String host : hosts(route)) {
        byHost.computeIfAbsent(host, h -> new ArrayList<>()).add(route);
      }
    }
    Map<List<String>, TreeSet<String>> hostsByRoutes = new LinkedHashMap<>();
    Map<List<String>, List<ClusterConfig.Route>> routesByKey = new LinkedHashMap<>();
    byHost.forEach(
        (host, routes) -> {
          List<String> key = routes.stream().map(ClusterConfig.Route::name).toList();
          hostsByRoutes.computeIfAbsent(key, k -> new TreeSet<>()).add(host);
          routesByKey.putIfAbsent(key, routes);
        });
    List<VirtualHost> out = new ArrayList<>();
    hostsByRoutes.forEach(
        (key, hosts) ->
            out.add(
                virtualHost(
                    hosts.first(), List.copyOf(hosts), routesByKey.get(key), doc, plane, chain)));
    out.sort(Comparator.comparing(VirtualHost::getName));
    return out;
  }

  static VirtualHost virtualHost(
      String name,
      List<String> domains,
      List<ClusterConfig.Route> routes,
      Document doc,
      DataPlane plane) {
    return virtualHost(name, domains, routes, doc, plane, NO_FILTERS);
  }

  static VirtualHost virtualHost(
      String name,
      List<String> domains,
      List<ClusterConfig.Route> routes,
      Document doc,
      DataPlane plane,
      L7Filters.Chain chain) {
    VirtualHost.Builder vh = VirtualHost.newBuilder().setName(name).addAllDomains(domains);
    routes.forEach(r -> vh.addRoutes(route(r, doc, plane, chain)));
    return vh.build();
  }

  private static final L7Filters.Chain NO_FILTERS = new L7Filters.Chain(List.of(), Map.of());

  /**
   * Turns on a filter that the connection manager marks {@code disabled}: a FilterConfig whose
   * {@code config} is set but empty means "enabled" to Envoy (route-based filter chain).
   */
  static final Any ENABLE_FILTER =
      Any.pack(FilterConfig.newBuilder().setConfig(Any.getDefaultInstance()).build());

  static Route route(
      ClusterConfig.Route route, Document doc, DataPlane plane, L7Filters.Chain chain) {
    RouteSpec spec = Document.spec(route);
    Route.Builder r =
        Route.newBuilder()
            .setName(route.name())
            .setMatch(match(spec.match()))
            .setRoute(action(spec, doc, plane));
    if (!(plane instanceof DataPlane.Grpc)) {
      r.setMetadata(metadata(route, spec));
    }
    for (String filter : chain.enabledOn(route.name())) {
      r.putTypedPerFilterConfig(filter, ENABLE_FILTER);
    }
    return r.build();
  }

  private static RouteMatch match(RouteSpec.Match match) {
    RouteMatch.Builder m = RouteMatch.newBuilder();
    if (match == null) {
      return m.setPrefix("/").build();
    }
    if (match.pathExact() != null) {
      m.setPath(match.pathExact());
    } else if (match.pathRegex() != null) {
      m.setSafeRegex(RegexMatcher.newBuilder().setRegex(match.pathRegex()));
    } else {
      m.setPrefix(Document.or(match.pathPrefix(), "/"));
    }
    Document.list(match.headers()).stream()
        .filter(h -> h != null)
        .map(HttpRoutes::header)
        .sorted(Comparator.comparing(HeaderMatcher::getName).thenComparing(HeaderMatcher::toString))
        .forEach(m::addHeaders);
    TreeSet<String> methods = new TreeSet<>();
    Document.list(match.methods()).stream().filter(x -> x != null).forEach(methods::add);
    if (methods.size() == 1) {
      m.addHeaders(
          HeaderMatcher.newBuilder()
              .setName(":method")
              .setStringMatch(StringMatcher.newBuilder().setExact(methods.first())));
    } else if (methods.size() > 1) {
      m.addHeaders(
          HeaderMatcher.newBuilder()
              .setName(":method")
              .setStringMatch(
                  StringMatcher.newBuilder()
                      .setSafeRegex(
                          RegexMatcher.newBuilder()
                              .setRegex("^(" + String.join("|", methods) + ")$"))));
    }
    return m.build();
  }

  private static HeaderMatcher header(RouteSpec.HeaderMatch h) {
    HeaderMatcher.Builder m = HeaderMatcher.newBuilder().setName(Document.or(h.name(), ""));
    if (h.exact() != null) {
      m.setStringMatch(StringMatcher.newBuilder().setExact(h.exact()));
    } else if (h.prefix() != null) {
      m.setStringMatch(StringMatcher.newBuilder().setPrefix(h.prefix()));
    } else if (h.regex() != null) {
      m.setStringMatch(
          StringMatcher.newBuilder().setSafeRegex(RegexMatcher.newBuilder().setRegex(h.regex())));
    } else {
      // present: false asks for the header to be absent.
      m.setPresentMatch(!Boolean.FALSE.equals(h.present()));
    }
    return m.build();
  }

  private static RouteAction action(RouteSpec spec, Document doc, DataPlane plane) {
    boolean grpc = plane instanceof DataPlane.Grpc;
    // The same service named twice is one weighted cluster with the weights added up.
    Map<String, Integer> weights = new TreeMap<>();
    for (RouteSpec.Backend b : Document.list(spec.backends())) {
      if (b != null) {
        weights.merge(
            ResourceNames.cluster(Document.or(b.service(), "")),
            Math.max(1, Document.or(b.weight(), 1)),
            Integer::sum);
      }
    }
    RouteAction.Builder a = RouteAction.newBuilder();
    if (weights.size() == 1) {
      a.setCluster(weights.keySet().iterator().next());
    } else {
      WeightedCluster.Builder wc = WeightedCluster.newBuilder();
      weights.forEach(
          (cluster, weight) ->
              wc.addClusters(
                  WeightedCluster.ClusterWeight.newBuilder()
                      .setName(cluster)
                      .setWeight(UInt32Value.of(weight))));
      a.setWeightedClusters(wc);
    }
    Integer timeoutMs = spec.timeoutMs() != null ? spec.timeoutMs() : serviceTimeout(spec, doc);
    if (timeoutMs != null) {
      if (grpc) {
        // grpc-xds ignores `timeout`; it bounds a call by max_stream_duration (0 = none).
        if (timeoutMs > 0) {
          a.setMaxStreamDuration(
              RouteAction.MaxStreamDuration.newBuilder()
                  .setMaxStreamDuration(Durations.fromMillis(timeoutMs)));
        }
      } else {
        a.setTimeout(Durations.fromMillis(timeoutMs));
      }
    }
    if (spec.retries() != null && Document.or(spec.retries().attempts(), 1) > 0) {
      a.setRetryPolicy(retryPolicy(spec.retries(), grpc));
    }
    boolean hashed =
        Document.list(spec.backends()).stream()
            .filter(b -> b != null)
            .map(b -> doc.service(b.service()))
            .anyMatch(s -> s.isPresent() && ServiceClusters.usesHashing(s.get()));
    if (hashed) {
      // Without a hash policy ring_hash and maglev pick a random host: pin each client instead.
      a.addHashPolicy(
          grpc
              ? RouteAction.HashPolicy.newBuilder()
                  .setFilterState(
                      RouteAction.HashPolicy.FilterState.newBuilder().setKey(GRPC_CHANNEL_ID))
                  .build()
              : RouteAction.HashPolicy.newBuilder()
                  .setConnectionProperties(
                      RouteAction.HashPolicy.ConnectionProperties.newBuilder().setSourceIp(true))
                  .build());
    }
    return a.build();
  }

  /**
   * A route without its own timeout gets its backends' request timeout (the longest, so that no
   * backend is cut short); with neither, the data plane's default applies.
   */
  private static Integer serviceTimeout(RouteSpec spec, Document doc) {
    return Document.list(spec.backends()).stream()
        .filter(b -> b != null)
        .map(b -> doc.service(b.service()))
        .flatMap(Optional::stream)
        .map(s -> Document.spec(s).timeouts())
        .filter(t -> t != null && t.requestMs() != null)
        .map(t -> t.requestMs())
        .max(Integer::compare)
        .orElse(null);
  }

  private static RetryPolicy retryPolicy(RouteSpec.Retries retries, boolean grpc) {
    List<String> on =
        Document.list(retries.on()).isEmpty() ? DEFAULT_RETRY_ON : Document.list(retries.on());
    Set<String> conditions = new TreeSet<>();
    for (String condition : on) {
      if (condition == null) {
        continue;
      }
      conditions.add(grpc ? GRPC_RETRY_ON.getOrDefault(condition, "unavailable") : condition);
    }
    RetryPolicy.Builder p =
        RetryPolicy.newBuilder()
            .setRetryOn(String.join(",", conditions))
            .setNumRetries(UInt32Value.of(Document.or(retries.attempts(), 1)));
    if (retries.perTryTimeoutMs() != null && !grpc) {
      p.setPerTryTimeout(Durations.fromMillis(retries.perTryTimeoutMs()));
    }
    return p.build();
  }

  /**
   * What MarchProxy's WASM filters need per route, where they can read it: {@code route} (also the
   * route's name), {@code feature} (a licensed feature tag) and {@code auth}.
   */
  private static Metadata metadata(ClusterConfig.Route route, RouteSpec spec) {
    Struct.Builder s = Struct.newBuilder();
    s.putFields("route", Value.newBuilder().setStringValue(route.name()).build());
    if (spec.feature() != null) {
      s.putFields("feature", Value.newBuilder().setStringValue(spec.feature()).build());
    }
    if (spec.auth() != null) {
      Struct.Builder auth = Struct.newBuilder();
      auth.putFields(
          "required",
          Value.newBuilder().setBoolValue(Boolean.TRUE.equals(spec.auth().required())).build());
      Set<String> exempt = new TreeSet<>(nonNull(spec.auth().exemptPaths()));
      if (!exempt.isEmpty()) {
        ListValue.Builder paths = ListValue.newBuilder();
        exempt.forEach(p -> paths.addValues(Value.newBuilder().setStringValue(p)));
        auth.putFields("exemptPaths", Value.newBuilder().setListValue(paths).build());
      }
      s.putFields("auth", Value.newBuilder().setStructValue(auth).build());
    }
    return Metadata.newBuilder()
        .putFilterMetadata(ResourceNames.METADATA_NAMESPACE, s.build())
        .build();
  }

  private static List<String> nonNull(List<String> values) {
    return Document.list(values).stream().filter(v -> v != null).toList();
  }
}
