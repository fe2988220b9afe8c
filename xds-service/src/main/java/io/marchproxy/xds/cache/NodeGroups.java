package io.marchproxy.xds.cache;

import io.envoyproxy.envoy.config.core.v3.Node;

/** Which snapshot group a proxy belongs to: its cluster and data-plane kind. */
@FunctionalInterface
public interface NodeGroups {

  /** Null when the node is not known (the stream was not authenticated). */
  String groupOf(Node node);

  static String group(Object clusterId, String kind) {
    return clusterId + "/" + kind;
  }
}
