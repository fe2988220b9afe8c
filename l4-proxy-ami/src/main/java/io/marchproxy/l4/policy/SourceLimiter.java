package io.marchproxy.l4.policy;

import java.net.InetAddress;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.LongSupplier;

/**
 * Per-source limits of one listener: new connections per second and connections (or UDP sessions)
 * at once, per source address. Idle sources are swept so the table stays small; past {@code
 * maxSources} tracked sources, new sources are refused rather than the table grown.
 */
public final class SourceLimiter {

  public enum Verdict {
    ADMITTED,
    RATE_LIMITED,
    OVER_LIMIT
  }

  private static final class Source {
    final AtomicInteger active = new AtomicInteger();
    final TokenBucket bucket;

    Source(TokenBucket bucket) {
      this.bucket = bucket;
    }
  }

  private final double perSecond;
  private final long maxConnections;
  private final int maxSources;
  private final LongSupplier nanoClock;
  private final Map<InetAddress, Source> sources = new ConcurrentHashMap<>();

  public SourceLimiter(double perSecond, long maxConnections, int maxSources, LongSupplier clock) {
    this.perSecond = perSecond;
    this.maxConnections = maxConnections;
    this.maxSources = maxSources;
    this.nanoClock = clock;
  }

  public boolean limits() {
    return perSecond > 0 || maxConnections > 0;
  }

  public boolean sameLimits(double perSecond, long maxConnections) {
    return this.perSecond == perSecond && this.maxConnections == maxConnections;
  }

  /** Admits a connection from {@code source}; an admitted one must be {@link #release}d. */
  public Verdict acquire(InetAddress source) {
    if (!limits()) {
      return Verdict.ADMITTED;
    }
    if (!sources.containsKey(source) && sources.size() >= maxSources) {
      sweep();
      if (sources.size() >= maxSources) {
        return Verdict.OVER_LIMIT;
      }
    }
    Verdict[] verdict = new Verdict[1];
    // compute() runs under the entry's lock, so a sweep never drops a source being admitted
    sources.compute(
        source,
        (a, s) -> {
          if (s == null) {
            s = new Source(perSecond > 0 ? new TokenBucket(perSecond, perSecond, nanoClock) : null);
          }
          if (s.bucket != null && !s.bucket.tryTake()) {
            verdict[0] = Verdict.RATE_LIMITED;
          } else if (maxConnections > 0 && s.active.get() >= maxConnections) {
            verdict[0] = Verdict.OVER_LIMIT;
          } else {
            s.active.incrementAndGet();
            verdict[0] = Verdict.ADMITTED;
          }
          return s;
        });
    return verdict[0];
  }

  public void release(InetAddress source) {
    if (!limits()) {
      return;
    }
    sources.computeIfPresent(
        source,
        (a, s) -> {
          s.active.decrementAndGet();
          return s;
        });
  }

  /** Drops sources with nothing open and a full bucket. */
  public void sweep() {
    for (InetAddress a : sources.keySet()) {
      sources.computeIfPresent(
          a, (k, s) -> s.active.get() <= 0 && (s.bucket == null || s.bucket.full()) ? null : s);
    }
  }

  public int trackedSources() {
    return sources.size();
  }
}
