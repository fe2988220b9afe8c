package io.marchproxy.l4.lb;

import io.marchproxy.l4.config.ClusterSpec;
import io.marchproxy.l4.config.EndpointsSpec;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A cluster as it runs: its endpoints with live state, the split across priorities and one picker
 * per level. The pickers are rebuilt (lock-free, copy-on-write) when availability changes; picking
 * never blocks.
 */
public final class ClusterRuntime {

  private static final Logger log = LoggerFactory.getLogger(ClusterRuntime.class);

  /** What picking found: an endpoint, or why there is none. */
  public sealed interface Pick {}

  public record Chosen(LiveEndpoint endpoint) implements Pick {}

  public record NoneAvailable() implements Pick {}

  public record Overloaded(long maxConnections) implements Pick {}

  private record Levels(int[] load, Picker[] pickers, boolean panic, long validUntilNanos) {}

  private final String name;
  private final LongSupplier nanoClock;
  private volatile ClusterSpec spec;
  private volatile Map<String, LiveEndpoint> endpoints = Map.of();
  private volatile Levels levels;
  private final AtomicInteger active = new AtomicInteger();
  private final java.util.concurrent.atomic.LongAdder connectFailures =
      new java.util.concurrent.atomic.LongAdder();

  public ClusterRuntime(ClusterSpec spec, LongSupplier nanoClock) {
    this.name = spec.name();
    this.spec = spec;
    this.nanoClock = nanoClock;
  }

  public String name() {
    return name;
  }

  public ClusterSpec spec() {
    return spec;
  }

  public void spec(ClusterSpec spec) {
    this.spec = spec;
    invalidate();
  }

  public Collection<LiveEndpoint> endpoints() {
    return endpoints.values();
  }

  public long connectFailures() {
    return connectFailures.sum();
  }

  public int activeConnections() {
    return active.get();
  }

  /**
   * Takes a new endpoint set; endpoints that stay keep their state (connections, health, ejection).
   * Host names are resolved here, once per update.
   */
  public void endpoints(EndpointsSpec eds) {
    Map<String, LiveEndpoint> old = endpoints;
    Map<String, LiveEndpoint> next = new TreeMap<>();
    for (EndpointsSpec.Endpoint e :
        eds == null ? List.<EndpointsSpec.Endpoint>of() : eds.endpoints()) {
      LiveEndpoint kept = old.get(e.key());
      if (kept != null && kept.address() != null) {
        kept.spec(e);
        next.put(e.key(), kept);
      } else {
        next.put(e.key(), new LiveEndpoint(e, resolve(e)));
      }
    }
    endpoints = next;
    invalidate();
  }

  private InetSocketAddress resolve(EndpointsSpec.Endpoint e) {
    try {
      return new InetSocketAddress(InetAddress.getByName(e.host()), e.port());
    } catch (UnknownHostException ex) {
      log.warn("cluster {}: endpoint {} does not resolve; left out", name, e.host());
      return null;
    }
  }

  /** Availability changed: the next pick rebuilds the levels. */
  public void invalidate() {
    levels = null;
  }

  /**
   * Chooses an endpoint for a connection from {@code source}, skipping {@code tried}. Takes a
   * connection slot of the cluster's circuit breaker; the caller returns it with {@link
   * #release(LiveEndpoint)}.
   */
  public Pick pick(InetAddress source, Collection<LiveEndpoint> tried) {
    long max = spec.maxConnections();
    if (active.incrementAndGet() > max) {
      active.decrementAndGet();
      return new Overloaded(max);
    }
    LiveEndpoint chosen = choose(source, tried);
    if (chosen == null) {
      active.decrementAndGet();
      return new NoneAvailable();
    }
    chosen.active.incrementAndGet();
    return new Chosen(chosen);
  }

  public void release(LiveEndpoint e) {
    e.active.decrementAndGet();
    active.decrementAndGet();
  }

  private LiveEndpoint choose(InetAddress source, Collection<LiveEndpoint> tried) {
    Levels l = levels(nanoClock.getAsLong());
    if (l.pickers.length == 0) {
      return null;
    }
    boolean hashing =
        spec.lbPolicy() == ClusterSpec.LbPolicy.RING_HASH
            || spec.lbPolicy() == ClusterSpec.LbPolicy.MAGLEV;
    long hash = hashing && source != null ? Hashing.hash(source.getAddress()) : 0;
    int roll =
        hashing
            ? (int) Long.remainderUnsigned(Hashing.mix(hash), 100)
            : ThreadLocalRandom.current().nextInt(100);
    int level = 0;
    for (int cumulative = 0; level < l.load.length; level++) {
      cumulative += l.load[level];
      if (roll < cumulative) {
        break;
      }
    }
    level = Math.min(level, l.load.length - 1);
    LiveEndpoint e = l.pickers[level].pick(hash);
    if (!tried.contains(e)) {
      return e;
    }
    // A retry: the next untried endpoint, this level first, then the others in priority order.
    for (int i = 0; i < l.pickers.length; i++) {
      int p = (level + i) % l.pickers.length;
      for (int attempt = 0; attempt < 4; attempt++) {
        LiveEndpoint again = l.pickers[p].pick(hash + attempt + 1);
        if (!tried.contains(again)) {
          return again;
        }
      }
      for (LiveEndpoint candidate : l.pickers[p].endpoints()) {
        if (!tried.contains(candidate)) {
          return candidate;
        }
      }
    }
    return null;
  }

  private Levels levels(long now) {
    Levels l = levels;
    if (l != null && now - l.validUntilNanos < 0) {
      return l;
    }
    l = build(now);
    levels = l;
    return l;
  }

  private Levels build(long now) {
    TreeMap<Integer, List<LiveEndpoint>> all = new TreeMap<>();
    TreeMap<Integer, List<LiveEndpoint>> up = new TreeMap<>();
    long validUntil = now + 60_000_000_000L; // changes invalidate; this is a backstop
    for (LiveEndpoint e : endpoints.values()) {
      if (e.address() == null) {
        continue;
      }
      all.computeIfAbsent(e.priority(), p -> new ArrayList<>()).add(e);
      if (e.available(now)) {
        up.computeIfAbsent(e.priority(), p -> new ArrayList<>()).add(e);
      } else if (e.ejected(now) && e.ejectedUntilNanos - validUntil < 0) {
        validUntil = e.ejectedUntilNanos;
      }
    }
    List<Integer> priorities = new ArrayList<>(all.keySet());
    int[] available = new int[priorities.size()];
    int[] total = new int[priorities.size()];
    for (int i = 0; i < priorities.size(); i++) {
      available[i] = up.getOrDefault(priorities.get(i), List.of()).size();
      total[i] = all.get(priorities.get(i)).size();
    }
    int[] load = PriorityLoad.compute(available, total);
    boolean panic = priorities.isEmpty() ? false : java.util.Arrays.stream(load).sum() == 0;
    List<Integer> kept = new ArrayList<>();
    List<Picker> pickers = new ArrayList<>();
    for (int i = 0; i < priorities.size(); i++) {
      List<LiveEndpoint> members;
      if (panic) {
        // Nothing is available: like Envoy's panic mode, try every endpoint of the first level
        // rather than refuse all traffic on what may be a wrong health verdict.
        if (i > 0) {
          break;
        }
        members = all.get(priorities.get(i));
      } else if (load[i] > 0) {
        members = up.get(priorities.get(i));
      } else {
        continue;
      }
      kept.add(panic ? 100 : load[i]);
      pickers.add(Picker.of(spec.lbPolicy(), members));
    }
    return new Levels(
        kept.stream().mapToInt(Integer::intValue).toArray(),
        pickers.toArray(new Picker[0]),
        panic,
        validUntil);
  }

  /** True while every endpoint is out and picks go to the first level regardless. */
  public boolean panic() {
    Levels l = levels(nanoClock.getAsLong());
    return l.panic;
  }

  // ------------------------------------------------------------------------------------------
  // Passive ejection

  /** A connection to {@code e} was established. */
  public void connectSucceeded(LiveEndpoint e) {
    e.consecutiveFailures.set(0);
  }

  /** A connection attempt to {@code e} failed (refused, reset or timed out). */
  public void connectFailed(LiveEndpoint e) {
    connectFailures.increment();
    ClusterSpec.Outlier o = spec.outlier();
    if (e.consecutiveFailures.incrementAndGet() < o.consecutiveFailures()) {
      return;
    }
    long now = nanoClock.getAsLong();
    if (e.ejected(now)) {
      return;
    }
    Map<String, LiveEndpoint> all = endpoints;
    long ejected = all.values().stream().filter(x -> x.ejected(now)).count();
    // Like Envoy's always_eject_one_host: one endpoint can always be ejected.
    if (ejected > 0 && (ejected + 1) * 100 > (long) o.maxEjectionPercent() * all.size()) {
      return;
    }
    e.ejections = Math.min(e.ejections + 1, 10);
    e.ejectedUntilNanos = now + o.baseEjection().toNanos() * e.ejections;
    e.consecutiveFailures.set(0);
    log.warn(
        "cluster {}: endpoint {} ejected for {} s after {} connect failures",
        name,
        e.key(),
        o.baseEjection().toSeconds() * e.ejections,
        o.consecutiveFailures());
    invalidate();
  }

  // ------------------------------------------------------------------------------------------
  // Active health checks

  /** The active check's verdict on one probe; applies the thresholds. Returns true on a change. */
  public boolean checked(LiveEndpoint e, boolean success, ClusterSpec.HealthCheck hc) {
    synchronized (e) {
      if (success) {
        e.checkFailures = 0;
        e.checkSuccesses++;
        if (!e.checkHealthy && e.checkSuccesses >= hc.healthyThreshold()) {
          e.checkHealthy = true;
          // an endpoint the check brings back is no longer ejected either
          e.ejectedUntilNanos = 0;
          invalidate();
          log.info("cluster {}: endpoint {} is healthy", name, e.key());
          return true;
        }
      } else {
        e.checkSuccesses = 0;
        e.checkFailures++;
        if (e.checkHealthy && e.checkFailures >= hc.unhealthyThreshold()) {
          e.checkHealthy = false;
          invalidate();
          log.warn(
              "cluster {}: endpoint {} failed {} health checks", name, e.key(), e.checkFailures);
          return true;
        }
      }
      return false;
    }
  }

  /** Counts per health state, for metrics. */
  public Map<String, Integer> healthCounts() {
    long now = nanoClock.getAsLong();
    Map<String, Integer> out = new HashMap<>(Map.of("healthy", 0, "unhealthy", 0, "ejected", 0));
    for (LiveEndpoint e : endpoints.values()) {
      String state = e.available(now) ? "healthy" : e.ejected(now) ? "ejected" : "unhealthy";
      out.merge(state, 1, Integer::sum);
    }
    return out;
  }
}
