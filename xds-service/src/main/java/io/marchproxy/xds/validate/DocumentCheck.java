package io.marchproxy.xds.validate;

import io.marchproxy.core.config.ClusterConfig;
import io.marchproxy.core.config.MappingSpec;
import io.marchproxy.core.config.RouteSpec;
import io.marchproxy.core.config.ServiceSpec;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * Is the cluster config document translatable at all? The API validates every write, so a problem
 * here means a document written by an older API, restored from an old revision, or edited by hand:
 * it is reported, never thrown.
 */
public final class DocumentCheck {

  static final Set<String> PROTOCOLS = Set.of("http", "grpc", "tcp", "udp");

  private DocumentCheck() {}

  public static List<Problem> problems(ClusterConfig config) {
    List<Problem> out = new ArrayList<>();
    if (config == null) {
      out.add(new Problem("document", "", "no cluster config document"));
      return out;
    }
    List<ClusterConfig.Service> services = list(config.services());
    List<ClusterConfig.Route> routes = list(config.routes());
    List<ClusterConfig.Mapping> mappings = list(config.mappings());
    List<ClusterConfig.Certificate> certificates = list(config.certificates());
    uniqueNames("service", services, ClusterConfig.Service::name, out);
    uniqueNames("route", routes, ClusterConfig.Route::name, out);
    uniqueNames("mapping", mappings, ClusterConfig.Mapping::name, out);
    uniqueNames("certificate", certificates, ClusterConfig.Certificate::name, out);
    Map<String, ClusterConfig.Service> byName = new HashMap<>();
    services.stream()
        .filter(s -> s != null && s.name() != null)
        .forEach(s -> byName.putIfAbsent(s.name(), s));
    services.stream().filter(s -> s != null).forEach(s -> service(s, out));
    routes.stream().filter(r -> r != null).forEach(r -> route(r, byName, out));
    Set<String> ports = new HashSet<>();
    for (ClusterConfig.Mapping m : mappings) {
      if (m != null) {
        mapping(m, byName, out);
        if (!ports.add(m.protocol() + "/" + m.listenPort())) {
          out.add(
              problem(
                  "mapping",
                  m.name(),
                  "listens on "
                      + m.protocol()
                      + " port "
                      + m.listenPort()
                      + " like another mapping"));
        }
      }
    }
    return List.copyOf(out);
  }

  private static void service(ClusterConfig.Service s, List<Problem> out) {
    if (!PROTOCOLS.contains(String.valueOf(s.protocol()))) {
      out.add(problem("service", s.name(), "protocol must be one of " + sorted(PROTOCOLS)));
    }
    ServiceSpec spec = s.spec();
    if (spec == null) {
      out.add(problem("service", s.name(), "has no spec"));
      return;
    }
    if (spec.lbPolicy() != null && !ServiceSpec.LB_POLICIES.contains(spec.lbPolicy())) {
      out.add(
          problem(
              "service",
              s.name(),
              "lbPolicy '" + spec.lbPolicy() + "' is not one of " + ServiceSpec.LB_POLICIES));
    }
    List<ServiceSpec.Endpoint> endpoints = list(spec.endpoints());
    for (int i = 0; i < endpoints.size(); i++) {
      ServiceSpec.Endpoint e = endpoints.get(i);
      String at = "endpoints[" + i + "]";
      if (e == null || e.host() == null || e.host().isBlank()) {
        out.add(problem("service", s.name(), at + " has no host"));
        continue;
      }
      if (e.port() == null || e.port() < 1 || e.port() > 65535) {
        out.add(problem("service", s.name(), at + " port must be 1-65535"));
      }
      if (e.weight() != null && e.weight() < 1) {
        out.add(problem("service", s.name(), at + " weight must be at least 1"));
      }
      if (e.priority() != null && e.priority() < 0) {
        out.add(problem("service", s.name(), at + " priority must not be negative"));
      }
    }
  }

  private static void route(
      ClusterConfig.Route r, Map<String, ClusterConfig.Service> services, List<Problem> out) {
    RouteSpec spec = r.spec();
    if (spec == null) {
      out.add(problem("route", r.name(), "has no spec"));
      return;
    }
    List<RouteSpec.Backend> backends = list(spec.backends());
    if (backends.isEmpty()) {
      out.add(problem("route", r.name(), "has no backends"));
    }
    for (RouteSpec.Backend b : backends) {
      String name = b == null ? null : b.service();
      ClusterConfig.Service s = name == null ? null : services.get(name);
      if (s == null) {
        out.add(problem("route", r.name(), "backend service '" + name + "' does not exist"));
      } else if (!"http".equals(s.protocol()) && !"grpc".equals(s.protocol())) {
        out.add(
            problem(
                "route",
                r.name(),
                "backend service '"
                    + name
                    + "' is "
                    + s.protocol()
                    + "; routes need http or grpc"));
      }
      if (b != null && b.weight() != null && b.weight() < 1) {
        out.add(problem("route", r.name(), "backend '" + name + "' weight must be at least 1"));
      }
    }
    RouteSpec.Match match = spec.match();
    if (match != null) {
      int paths =
          (match.pathPrefix() == null ? 0 : 1)
              + (match.pathExact() == null ? 0 : 1)
              + (match.pathRegex() == null ? 0 : 1);
      if (paths > 1) {
        out.add(problem("route", r.name(), "match needs one of pathPrefix, pathExact, pathRegex"));
      }
      for (RouteSpec.HeaderMatch h : list(match.headers())) {
        if (h == null || h.name() == null || h.name().isBlank()) {
          out.add(problem("route", r.name(), "a header match has no header name"));
        }
      }
    }
  }

  private static void mapping(
      ClusterConfig.Mapping m, Map<String, ClusterConfig.Service> services, List<Problem> out) {
    if (!"tcp".equals(m.protocol()) && !"udp".equals(m.protocol())) {
      out.add(problem("mapping", m.name(), "protocol must be tcp or udp"));
    }
    if (m.listenPort() < 1 || m.listenPort() > 65535) {
      out.add(problem("mapping", m.name(), "listenPort must be 1-65535"));
    }
    MappingSpec spec = m.spec();
    if (spec == null) {
      out.add(problem("mapping", m.name(), "has no spec"));
      return;
    }
    ClusterConfig.Service s = spec.service() == null ? null : services.get(spec.service());
    if (s == null) {
      out.add(problem("mapping", m.name(), "service '" + spec.service() + "' does not exist"));
    } else if ("udp".equals(m.protocol()) != "udp".equals(s.protocol())) {
      out.add(
          problem(
              "mapping",
              m.name(),
              "is "
                  + m.protocol()
                  + " but service '"
                  + s.name()
                  + "' is "
                  + s.protocol()
                  + " (UDP maps only to UDP)"));
    }
    if (spec.allowedSources() != null) {
      for (String cidr : list(spec.allowedSources().cidrs())) {
        if (!Cidrs.valid(cidr)) {
          out.add(problem("mapping", m.name(), "allowed source '" + cidr + "' is not a CIDR"));
        }
      }
      for (String name : list(spec.allowedSources().services())) {
        if (name == null || !services.containsKey(name)) {
          out.add(
              problem("mapping", m.name(), "allowed source service '" + name + "' does not exist"));
        }
      }
    }
  }

  private static <T> void uniqueNames(
      String type, List<T> items, Function<T, String> name, List<Problem> out) {
    Set<String> seen = new HashSet<>();
    for (T item : items) {
      String n = item == null ? null : name.apply(item);
      if (n == null || n.isBlank()) {
        out.add(problem(type, "", "has no name"));
      } else if (!seen.add(n)) {
        out.add(problem(type, n, "name is used twice"));
      }
    }
  }

  private static Problem problem(String type, String name, String message) {
    return new Problem(type, name == null ? "" : name, message);
  }

  private static List<String> sorted(Set<String> values) {
    return values.stream().sorted().toList();
  }

  private static <T> List<T> list(List<T> maybe) {
    return maybe == null ? List.of() : maybe;
  }
}
