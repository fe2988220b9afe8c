package io.marchproxy.l4.tcp;

import io.marchproxy.l4.config.ListenerSpec;
import io.marchproxy.l4.lb.ClusterRuntime;
import io.marchproxy.l4.lb.LiveEndpoint;
import io.marchproxy.l4.ops.AccessLog;
import io.marchproxy.l4.policy.SourceLimiter;
import java.net.InetSocketAddress;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * What one TCP connection holds from accept to close, whichever relay carries it: its place in the
 * listener's count, the filter chain, source slot and endpoint it was admitted to, and the verdict
 * its access log line and counter get. Not thread-safe: used on the connection's event loop.
 */
final class Admission {

  private final TcpListener listener;
  private final TcpListener.Policy policy;

  /** When it was accepted, for the access log (null when the log is off). */
  private final Instant start;

  InetSocketAddress peer;

  /** The declared source (PROXY protocol) or the peer. */
  InetSocketAddress source;

  ChainState chain;
  ClusterRuntime cluster;
  LiveEndpoint endpoint;
  final List<LiveEndpoint> tried = new ArrayList<>(2);
  String verdict;
  boolean drained;

  /** The chain's idle timeout in nanoseconds; 0 when none. */
  private long idleNanos;

  private boolean counted;
  private boolean sourceAdmitted;
  private boolean finished;

  Admission(TcpListener listener, TcpListener.Policy policy) {
    this.listener = listener;
    this.policy = policy;
    this.start = listener.dp.accessLog().enabled() ? listener.dp.clock().instant() : null;
  }

  /**
   * Counts the connection against the listener. Returns why it must be refused (over the listener's
   * limit, or the listener is draining), or null.
   */
  String enter(InetSocketAddress peer) {
    this.peer = peer;
    this.source = peer;
    counted = true;
    if (listener.active.incrementAndGet() > policy.maxConnections() || listener.draining()) {
      return "over_limit";
    }
    return null;
  }

  /**
   * Applies the chain for {@code serverName} (null without SNI routing): network RBAC, the chain's
   * rate and connection limits, the per-source limits, the cluster. Returns why it is refused, or
   * null with {@link #cluster} set.
   */
  String admit(String serverName) {
    ChainState c = choose(serverName);
    if (c == null) {
      return "no_filter_chain";
    }
    ListenerSpec.FilterChain spec = c.spec();
    if (spec.rbac() != null && !spec.rbac().permits(peer.getAddress(), source.getAddress())) {
      return "denied";
    }
    if (c.rate() != null && !c.rate().tryTake()) {
      return "rate_limited";
    }
    chain = c;
    if (c.active().incrementAndGet()
        > (spec.connectionLimit() > 0 ? spec.connectionLimit() : Long.MAX_VALUE)) {
      return "over_limit";
    }
    SourceLimiter.Verdict v = policy.sources().acquire(source.getAddress());
    if (v != SourceLimiter.Verdict.ADMITTED) {
      return v == SourceLimiter.Verdict.RATE_LIMITED ? "source_rate_limited" : "source_over_limit";
    }
    sourceAdmitted = true;
    idleNanos = spec.route().idleTimeout().toNanos();
    cluster = listener.dp.clusters().apply(spec.route().cluster());
    return cluster == null ? "no_cluster" : null;
  }

  private ChainState choose(String serverName) {
    for (ChainState c : policy.chains()) {
      if (c.spec().serverNames().isEmpty() || c.spec().matchesSni(serverName)) {
        return c;
      }
    }
    return null;
  }

  /** The endpoint to connect to next (also counted as tried), or null with the verdict set. */
  LiveEndpoint next() {
    ClusterRuntime.Pick pick = cluster.pick(source.getAddress(), tried);
    if (pick instanceof ClusterRuntime.Chosen chosen) {
      endpoint = chosen.endpoint();
      tried.add(endpoint);
      return endpoint;
    }
    refuse(
        pick instanceof ClusterRuntime.Overloaded
            ? "overloaded"
            : tried.isEmpty() ? "no_healthy_endpoint" : "connect_failed");
    return null;
  }

  /** Whether a connection whose last bytes moved at {@code lastActivity} is past its timeout. */
  boolean idleAt(long now, long lastActivity) {
    return idleNanos > 0 && now - lastActivity > idleNanos;
  }

  void connected() {
    cluster.connectSucceeded(endpoint);
  }

  /** The attempt to {@link #endpoint} failed: counted for outlier ejection, its slot given back. */
  void connectFailed() {
    cluster.connectFailed(endpoint);
    cluster.release(endpoint);
    endpoint = null;
  }

  boolean mayRetry() {
    return tried.size() < chain.spec().route().maxConnectAttempts();
  }

  /** Keeps the first reason given. */
  void refuse(String why) {
    if (verdict == null) {
      verdict = why;
    }
  }

  /** Gives back everything held, counts the verdict and writes the access log line. Once. */
  void finish(long fromClient, long toClient) {
    if (finished) {
      return;
    }
    finished = true;
    if (drained) {
      verdict = "drained";
    }
    if (verdict == null) {
      verdict = "proxied";
    }
    if (endpoint != null) {
      cluster.release(endpoint);
    }
    if (sourceAdmitted) {
      policy.sources().release(source.getAddress());
    }
    if (chain != null) {
      chain.active().decrementAndGet();
    }
    if (counted) {
      listener.active.decrementAndGet();
    }
    listener.count(verdict);
    AccessLog log = listener.dp.accessLog();
    if (log.enabled()) {
      log.write(
          new AccessLog.Entry(
              listener.name,
              "tcp",
              peer == null ? "" : peer.getAddress().getHostAddress() + ":" + peer.getPort(),
              source == null ? "" : source.getAddress().getHostAddress() + ":" + source.getPort(),
              endpoint == null && tried.isEmpty()
                  ? ""
                  : (endpoint != null ? endpoint : tried.getLast()).key(),
              verdict,
              start,
              listener.dp.clock().instant(),
              fromClient,
              toClient));
    }
  }
}
