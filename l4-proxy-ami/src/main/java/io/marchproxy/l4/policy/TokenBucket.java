package io.marchproxy.l4.policy;

import java.util.function.LongSupplier;

/** A token bucket on a monotonic clock; refills continuously at {@code perSecond}. */
public final class TokenBucket {

  private final double capacity;
  private final double perNano;
  private final LongSupplier nanoClock;
  private double tokens;
  private long last;

  public TokenBucket(double capacity, double perSecond, LongSupplier nanoClock) {
    this.capacity = Math.max(1, capacity);
    this.perNano = perSecond / 1e9;
    this.nanoClock = nanoClock;
    this.tokens = this.capacity;
    this.last = nanoClock.getAsLong();
  }

  /** Envoy's local_ratelimit bucket: {@code maxTokens}, {@code perFill} every {@code interval}. */
  public static TokenBucket envoy(
      long maxTokens, long perFill, java.time.Duration interval, LongSupplier nanoClock) {
    return new TokenBucket(maxTokens, perFill * 1e9 / interval.toNanos(), nanoClock);
  }

  public synchronized boolean tryTake() {
    refill();
    if (tokens >= 1) {
      tokens -= 1;
      return true;
    }
    return false;
  }

  /** True when the bucket is full (an idle source whose entry can be dropped). */
  public synchronized boolean full() {
    refill();
    return tokens >= capacity;
  }

  private void refill() {
    long now = nanoClock.getAsLong();
    tokens = Math.min(capacity, tokens + (now - last) * perNano);
    last = now;
  }
}
