package io.marchproxy.l4.runtime;

import io.marchproxy.l4.config.ClusterSpec;
import io.marchproxy.l4.config.ConfigRejected;
import io.marchproxy.l4.config.ListenerSpec;
import io.marchproxy.l4.config.ProxyConfig;
import io.marchproxy.l4.lb.ClusterRuntime;
import io.marchproxy.l4.lb.HealthChecker;
import io.marchproxy.l4.net.Dataplane;
import io.marchproxy.l4.net.Transport;
import io.marchproxy.l4.ops.AccessLog;
import io.marchproxy.l4.ops.Metrics;
import io.marchproxy.l4.tcp.TcpListener;
import io.marchproxy.l4.udp.UdpListener;
import io.netty.channel.EventLoopGroup;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The running proxy: applies a {@link ProxyConfig} as a difference from the one running. Clusters
 * first (make-before-break), then listeners: a new listener is bound before anything else changes,
 * so a port that cannot be bound leaves the running listeners as they were; a listener whose
 * address stays is updated in place; a removed or moved listener drains.
 */
public final class ProxyRuntime implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(ProxyRuntime.class);

  /** A listener of either protocol. */
  private sealed interface Running permits RunningTcp, RunningUdp {
    ListenerSpec spec();

    CompletableFuture<Void> drain(Duration deadline);
  }

  private record RunningTcp(TcpListener l) implements Running {
    public ListenerSpec spec() {
      return l.spec();
    }

    public CompletableFuture<Void> drain(Duration d) {
      return l.drain(d);
    }
  }

  private record RunningUdp(UdpListener l) implements Running {
    public ListenerSpec spec() {
      return l.spec();
    }

    public CompletableFuture<Void> drain(Duration d) {
      return l.drain(d);
    }
  }

  private record Cluster(ClusterRuntime runtime, HealthChecker checker) {}

  private final Dataplane dp;
  private final Duration drainTimeout;
  private final Map<String, Running> listeners = new ConcurrentHashMap<>();
  private final Map<String, Cluster> clusters = new ConcurrentHashMap<>();
  private final List<Running> draining = new java.util.concurrent.CopyOnWriteArrayList<>();
  private volatile ProxyConfig running = ProxyConfig.EMPTY;
  private volatile boolean stopping;
  private final List<java.util.function.Consumer<ProxyConfig>> appliedListeners =
      new java.util.concurrent.CopyOnWriteArrayList<>();

  public ProxyRuntime(
      Transport transport,
      EventLoopGroup workers,
      Metrics metrics,
      AccessLog accessLog,
      Clock clock,
      Map<String, String> env,
      Duration drainTimeout,
      long defaultMaxConnections) {
    this.dp =
        new Dataplane(
            transport,
            workers,
            name -> {
              Cluster c = clusters.get(name);
              return c == null ? null : c.runtime();
            },
            metrics,
            accessLog,
            clock,
            System::nanoTime,
            env,
            defaultMaxConnections,
            100_000);
    this.drainTimeout = drainTimeout;
    registerMetrics(metrics);
  }

  public ProxyConfig running() {
    return running;
  }

  public ClusterRuntime cluster(String name) {
    Cluster c = clusters.get(name);
    return c == null ? null : c.runtime();
  }

  /** The running TCP listener of that name, or null. */
  public TcpListener tcpListener(String name) {
    return listeners.get(name) instanceof RunningTcp t ? t.l() : null;
  }

  /**
   * Applies {@code next}; on a listener that cannot run, throws and leaves listeners as they were.
   */
  public synchronized void apply(ProxyConfig next) throws ConfigRejected {
    if (stopping) {
      throw new ConfigRejected("the proxy is shutting down");
    }
    applyClusters(next);
    applyListeners(next);
    running = next;
    for (var l : appliedListeners) {
      l.accept(next);
    }
  }

  /** Called with every config once it runs (e.g. the XDP fast path follows the listeners). */
  public void onApplied(java.util.function.Consumer<ProxyConfig> listener) {
    appliedListeners.add(listener);
  }

  private void applyClusters(ProxyConfig next) {
    for (ClusterSpec spec : next.clusters().values()) {
      Cluster c = clusters.get(spec.name());
      if (c == null) {
        ClusterRuntime rt = new ClusterRuntime(spec, dp.nanoClock());
        c = new Cluster(rt, new HealthChecker(rt, dp.workers(), dp.transport().socketChannel()));
        clusters.put(spec.name(), c);
      } else if (!c.runtime().spec().equals(spec)) {
        c.runtime().spec(spec);
      }
      var eds = next.endpoints().get(spec.name());
      if (c.runtime().endpoints().isEmpty()
          || !java.util.Objects.equals(eds, running.endpoints().get(spec.name()))) {
        c.runtime().endpoints(eds);
      }
      c.checker().update();
    }
    for (String name : Set.copyOf(clusters.keySet())) {
      if (!next.clusters().containsKey(name)) {
        // connections in flight keep their reference; only new ones stop finding it
        clusters.remove(name).checker().stop();
      }
    }
  }

  private void applyListeners(ProxyConfig next) throws ConfigRejected {
    Map<String, Running> bound = new HashMap<>();
    List<String> replaced = new ArrayList<>();
    try {
      for (ListenerSpec spec : next.listeners().values()) {
        Running current = listeners.get(spec.name());
        if (current != null && spec.sameSocket(current.spec())) {
          continue;
        }
        if (current != null) {
          replaced.add(spec.name());
        }
        bound.put(spec.name(), bind(spec));
      }
    } catch (ConfigRejected e) {
      for (Running r : bound.values()) {
        r.drain(Duration.ZERO);
      }
      throw e;
    }
    // Commit: nothing below can fail.
    for (ListenerSpec spec : next.listeners().values()) {
      Running current = listeners.get(spec.name());
      if (current != null && !bound.containsKey(spec.name()) && !current.spec().equals(spec)) {
        switch (current) {
          case RunningTcp t -> t.l().update((ListenerSpec.Tcp) spec);
          case RunningUdp u -> u.l().update((ListenerSpec.Udp) spec);
        }
        log.info("listener {}: updated in place", spec.name());
      }
    }
    for (String name : replaced) {
      startDrain(listeners.remove(name));
    }
    for (String name : Set.copyOf(listeners.keySet())) {
      if (!next.listeners().containsKey(name)) {
        startDrain(listeners.remove(name));
      }
    }
    listeners.putAll(bound);
  }

  private Running bind(ListenerSpec spec) throws ConfigRejected {
    Running r =
        switch (spec) {
          case ListenerSpec.Tcp t -> new RunningTcp(new TcpListener(t, dp));
          case ListenerSpec.Udp u -> new RunningUdp(new UdpListener(u, dp));
        };
    try {
      switch (r) {
        case RunningTcp t -> t.l().bind();
        case RunningUdp u -> u.l().bind();
      }
    } catch (Exception e) {
      throw new ConfigRejected(
          "listener " + spec.name() + ": cannot bind " + spec.address() + ": " + e.getMessage(), e);
    }
    return r;
  }

  private void startDrain(Running r) {
    log.info("listener {}: draining (up to {} s)", r.spec().name(), drainTimeout.toSeconds());
    draining.add(r);
    r.drain(drainTimeout)
        .whenComplete(
            (v, e) -> {
              draining.remove(r);
              if (!listeners.containsKey(r.spec().name())) {
                dp.metrics().forget("listener", r.spec().name());
              }
              log.info("listener {}: drained", r.spec().name());
            });
  }

  /** Stops accepting everywhere and waits for connections to finish, up to {@code deadline}. */
  public void drainAll(Duration deadline) {
    stopping = true;
    List<CompletableFuture<Void>> all = new ArrayList<>();
    synchronized (this) {
      for (String name : Set.copyOf(listeners.keySet())) {
        Running r = listeners.remove(name);
        draining.add(r);
        all.add(r.drain(deadline));
      }
    }
    try {
      CompletableFuture.allOf(all.toArray(new CompletableFuture[0]))
          .get(deadline.toMillis() + 5_000, TimeUnit.MILLISECONDS);
    } catch (Exception e) {
      log.warn("drain did not finish cleanly: {}", e.toString());
    }
  }

  public int drainingListeners() {
    return draining.size();
  }

  @Override
  public void close() {
    drainAll(Duration.ZERO);
    clusters.values().forEach(c -> c.checker().stop());
  }

  private void registerMetrics(Metrics m) {
    m.gauge(
        "connections_active",
        "Open connections (TCP) or sessions (UDP) per listener",
        s -> {
          for (var e : listeners.entrySet()) {
            switch (e.getValue()) {
              case RunningTcp t -> s.sample(t.l().activeConnections(), "listener", e.getKey());
              case RunningUdp u -> s.sample(u.l().activeSessions(), "listener", e.getKey());
            }
          }
        });
    m.gauge(
        "listeners_draining",
        "Listeners removed or replaced that still have connections",
        s -> s.sample(draining.size()));
    m.gauge(
        "cluster_endpoints",
        "Endpoints per cluster and health state (healthy, unhealthy, ejected)",
        s -> {
          for (var e : clusters.entrySet()) {
            e.getValue()
                .runtime()
                .healthCounts()
                .forEach((state, n) -> s.sample(n, "cluster", e.getKey(), "state", state));
          }
        });
    m.gauge(
        "cluster_connections_active",
        "Open upstream connections (and UDP sessions) per cluster",
        s -> clusters.forEach((k, c) -> s.sample(c.runtime().activeConnections(), "cluster", k)));
    m.counterFamily(
        "cluster_connect_failures_total",
        "Upstream connect failures (refused, reset, timed out) per cluster",
        s -> clusters.forEach((k, c) -> s.sample(c.runtime().connectFailures(), "cluster", k)));
  }
}
