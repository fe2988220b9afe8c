package io.marchproxy.l4.lb;

import io.marchproxy.l4.config.EndpointsSpec;
import java.net.InetSocketAddress;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * An endpoint with its live state: connections in flight, active health check verdict, passive
 * ejection. Kept across EDS updates that keep the endpoint, so a config push loses no state.
 */
public final class LiveEndpoint {

  private final String key;
  private final InetSocketAddress address;
  private volatile EndpointsSpec.Endpoint spec;

  final AtomicInteger active = new AtomicInteger();
  final AtomicInteger consecutiveFailures = new AtomicInteger();
  volatile boolean checkHealthy = true;
  volatile long ejectedUntilNanos;
  volatile int ejections;
  int checkSuccesses;
  int checkFailures;

  LiveEndpoint(EndpointsSpec.Endpoint spec, InetSocketAddress address) {
    this.key = spec.key();
    this.spec = spec;
    this.address = address;
  }

  public String key() {
    return key;
  }

  /** Null when the host name did not resolve. */
  public InetSocketAddress address() {
    return address;
  }

  public EndpointsSpec.Endpoint spec() {
    return spec;
  }

  void spec(EndpointsSpec.Endpoint spec) {
    this.spec = spec;
  }

  public int activeConnections() {
    return active.get();
  }

  public boolean checkHealthy() {
    return checkHealthy;
  }

  public boolean ejected(long nowNanos) {
    return ejectedUntilNanos != 0 && nowNanos - ejectedUntilNanos < 0;
  }

  /** In rotation: EDS says healthy, the active check agrees, not ejected, resolved. */
  public boolean available(long nowNanos) {
    return address != null && spec.healthy() && checkHealthy && !ejected(nowNanos);
  }

  public int weight() {
    return spec.weight();
  }

  public int priority() {
    return spec.priority();
  }

  @Override
  public String toString() {
    return key;
  }
}
