package io.marchproxy.xds.translate;

import io.marchproxy.core.config.ClusterConfig;
import io.marchproxy.core.config.MappingSpec;
import io.marchproxy.core.config.RouteSpec;
import io.marchproxy.core.config.ServiceSpec;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * The cluster config document as the translator reads it: absent lists and specs are empty, every
 * list is in name order (whatever order the document had), and services are looked up by name.
 */
record Document(
    ClusterConfig source,
    Map<String, ClusterConfig.Service> services,
    List<ClusterConfig.Route> routes,
    List<ClusterConfig.Mapping> mappings,
    List<ClusterConfig.Certificate> certificates) {

  static final ServiceSpec EMPTY_SERVICE = new ServiceSpec(List.of(), null, null, null, null, null);
  static final RouteSpec EMPTY_ROUTE =
      new RouteSpec(null, null, null, null, null, null, null, null);
  static final MappingSpec EMPTY_MAPPING =
      new MappingSpec(null, null, null, null, null, null, null);

  static Document of(ClusterConfig config) {
    Map<String, ClusterConfig.Service> services = new TreeMap<>();
    for (ClusterConfig.Service s : list(config.services())) {
      if (s != null && s.name() != null) {
        services.putIfAbsent(s.name(), s);
      }
    }
    return new Document(
        config,
        services,
        list(config.routes()).stream()
            .filter(r -> r != null && r.name() != null)
            .sorted(Comparator.comparing(ClusterConfig.Route::name))
            .toList(),
        list(config.mappings()).stream()
            .filter(m -> m != null && m.name() != null)
            .sorted(Comparator.comparing(ClusterConfig.Mapping::name))
            .toList(),
        list(config.certificates()).stream()
            .filter(c -> c != null && c.name() != null)
            .sorted(Comparator.comparing(ClusterConfig.Certificate::name))
            .toList());
  }

  Optional<ClusterConfig.Service> service(String name) {
    return Optional.ofNullable(name == null ? null : services.get(name));
  }

  static ServiceSpec spec(ClusterConfig.Service service) {
    return service.spec() == null ? EMPTY_SERVICE : service.spec();
  }

  static RouteSpec spec(ClusterConfig.Route route) {
    return route.spec() == null ? EMPTY_ROUTE : route.spec();
  }

  static MappingSpec spec(ClusterConfig.Mapping mapping) {
    return mapping.spec() == null ? EMPTY_MAPPING : mapping.spec();
  }

  static boolean isL7(ClusterConfig.Service service) {
    return "http".equals(service.protocol()) || "grpc".equals(service.protocol());
  }

  static <T> List<T> list(List<T> maybe) {
    return maybe == null ? List.of() : maybe;
  }

  static <T> T or(T value, T fallback) {
    return value == null ? fallback : value;
  }
}
