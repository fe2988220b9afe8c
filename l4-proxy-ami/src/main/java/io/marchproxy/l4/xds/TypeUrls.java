package io.marchproxy.l4.xds;

import java.util.List;

/** The xDS resource types the L4 proxy subscribes to, in the order they are applied. */
public final class TypeUrls {

  public static final String CLUSTER = "type.googleapis.com/envoy.config.cluster.v3.Cluster";
  public static final String ENDPOINTS =
      "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment";
  public static final String LISTENER = "type.googleapis.com/envoy.config.listener.v3.Listener";

  public static final List<String> ALL = List.of(CLUSTER, ENDPOINTS, LISTENER);

  private TypeUrls() {}

  public static String shortName(String typeUrl) {
    return switch (typeUrl) {
      case CLUSTER -> "cds";
      case ENDPOINTS -> "eds";
      case LISTENER -> "lds";
      default -> typeUrl;
    };
  }
}
