package io.marchproxy.l4.net;

import io.marchproxy.l4.lb.ClusterRuntime;
import io.marchproxy.l4.ops.AccessLog;
import io.marchproxy.l4.ops.Metrics;
import io.netty.channel.EventLoopGroup;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.function.Function;
import java.util.function.LongSupplier;

/**
 * What every listener shares: the event loops and transport, the clusters by name, metrics, the
 * access log, the clocks and the proxy-wide settings.
 */
public record Dataplane(
    Transport transport,
    EventLoopGroup workers,
    Function<String, ClusterRuntime> clusters,
    Metrics metrics,
    AccessLog accessLog,
    Clock clock,
    LongSupplier nanoClock,
    Map<String, String> env,
    long defaultMaxConnections,
    int maxTrackedSources) {

  /** Connections still open when a drain's deadline passes are closed. */
  public static final Duration HEADER_TIMEOUT = Duration.ofSeconds(10);
}
