package io.marchproxy.l4.config;

import java.time.Duration;

/** A cluster ({@code svc-<service>}): how to pick, connect to and check its endpoints. */
public record ClusterSpec(
    String name,
    LbPolicy lbPolicy,
    Duration connectTimeout,
    long maxConnections,
    HealthCheck healthCheck,
    Outlier outlier) {

  public enum LbPolicy {
    ROUND_ROBIN,
    LEAST_REQUEST,
    RING_HASH,
    MAGLEV,
    RANDOM
  }

  /** Active TCP check: connect within {@code timeout}, every {@code interval}. */
  public record HealthCheck(
      Duration interval, Duration timeout, int healthyThreshold, int unhealthyThreshold) {}

  /**
   * Passive ejection on connect failures: after {@code consecutiveFailures} in a row an endpoint
   * leaves the rotation for {@code baseEjection} × the number of times it was ejected.
   */
  public record Outlier(int consecutiveFailures, Duration baseEjection, int maxEjectionPercent) {

    public static final Outlier DEFAULT = new Outlier(3, Duration.ofSeconds(30), 50);
  }
}
