package io.marchproxy.l4.tcp;

import io.marchproxy.l4.config.ListenerSpec;
import io.marchproxy.l4.policy.TokenBucket;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/** A filter chain with its live state: the listener-wide rate bucket and connection count. */
record ChainState(ListenerSpec.FilterChain spec, TokenBucket rate, AtomicLong active) {

  static ChainState of(ListenerSpec.FilterChain spec, LongSupplier nanoClock) {
    var r = spec.rateLimit();
    return new ChainState(
        spec,
        r == null
            ? null
            : TokenBucket.envoy(r.maxTokens(), r.tokensPerFill(), r.fillInterval(), nanoClock),
        new AtomicLong());
  }

  /**
   * The new chain, keeping the bucket and count of {@code old} when it is the same chain (same
   * server names) with the same rate: an update must not hand out a fresh burst.
   */
  static ChainState carry(ListenerSpec.FilterChain spec, ChainState old, LongSupplier nanoClock) {
    if (old == null || !old.spec.serverNames().equals(spec.serverNames())) {
      return of(spec, nanoClock);
    }
    TokenBucket rate =
        Objects.equals(old.spec.rateLimit(), spec.rateLimit())
            ? old.rate
            : of(spec, nanoClock).rate;
    return new ChainState(spec, rate, old.active);
  }
}
