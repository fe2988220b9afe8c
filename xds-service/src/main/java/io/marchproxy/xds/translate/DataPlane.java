package io.marchproxy.xds.translate;

import java.util.Objects;

/**
 * The kinds of data plane a cluster's proxies can be; each gets its own snapshot because they
 * accept different resources (Envoy refuses {@code api_listener} over LDS, proxyless gRPC needs
 * it).
 */
public sealed interface DataPlane permits DataPlane.Envoy, DataPlane.L4, DataPlane.Grpc {

  /** The kind as proxies register it: {@code envoy}, {@code l4} or {@code grpc}. */
  String kind();

  static DataPlane of(String kind) {
    return switch (kind) {
      case "envoy" -> new Envoy();
      case "l4" -> new L4();
      case "grpc" -> new Grpc();
      default -> throw new IllegalArgumentException("unknown data-plane kind: " + kind);
    };
  }

  /** Envoy at the edge: HTTP and HTTPS listeners, routes, clusters, endpoints. */
  record Envoy(int httpPort, int httpsPort, L7Filters l7Filters) implements DataPlane {

    public static final int DEFAULT_HTTP_PORT = 10000;
    public static final int DEFAULT_HTTPS_PORT = 10443;

    public Envoy {
      Objects.requireNonNull(l7Filters, "l7Filters");
    }

    public Envoy() {
      this(DEFAULT_HTTP_PORT, DEFAULT_HTTPS_PORT, L7Filters.NONE);
    }

    public Envoy withL7Filters(L7Filters filters) {
      return new Envoy(httpPort, httpsPort, filters);
    }

    @Override
    public String kind() {
      return "envoy";
    }
  }

  /** MarchProxy's L4 proxy: one listener per mapping, with the clusters those mappings use. */
  record L4() implements DataPlane {
    @Override
    public String kind() {
      return "l4";
    }
  }

  /** Proxyless gRPC clients (grpc-java's xDS): one api_listener per host they dial. */
  record Grpc() implements DataPlane {
    @Override
    public String kind() {
      return "grpc";
    }
  }
}
