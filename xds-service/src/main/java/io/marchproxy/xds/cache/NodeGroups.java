package io.marchproxy.xds.cache;

import io.envoyproxy.envoy.config.core.v3.Node;

/** Which snapshot group a proxy belongs to: its cluster and data-plane kind. */
@FunctionalInterface
public interface NodeGroups {

  /** Null when the node is not known (the stream was not authenticated). */
  String groupOf(Node node);

  /**
   * The id of the node a request came from. Clients may send {@code node} on a stream's first
   * request only; an implementation that knows the stream fills it in for the later ones.
   */
  default String nodeIdOf(Node node) {
    return node.getId();
  }

  static String group(Object clusterId, String kind) {
    return clusterId + "/" + kind;
  }
}
