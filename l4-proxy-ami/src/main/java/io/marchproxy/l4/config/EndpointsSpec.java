package io.marchproxy.l4.config;

import java.util.List;

/** A ClusterLoadAssignment flattened: every endpoint with its locality, priority and weight. */
public record EndpointsSpec(String cluster, List<Endpoint> endpoints) {

  public EndpointsSpec {
    endpoints = List.copyOf(endpoints);
  }

  /**
   * One endpoint; {@code host} is an IP literal or a hostname the proxy resolves. {@code
   * healthy=false} when EDS says it is unhealthy, draining or timed out.
   */
  public record Endpoint(
      String host, int port, int weight, int priority, String locality, boolean healthy) {

    public String key() {
      return host + ":" + port;
    }
  }
}
