package io.marchproxy.xdp;

import java.util.Optional;

/**
 * What the program enforces on protected ports. An empty budget switches that check off.
 *
 * @param enabled off: every packet passes untouched (counted as pass_disabled)
 * @param packets per-source budget for every protected packet
 * @param synGuard per-source SYN budget plus the global cap on new sources
 * @param classify count the payload protocols of passed packets
 */
public record XdpConfig(
    boolean enabled, Optional<Budget> packets, Optional<SynGuard> synGuard, boolean classify) {

  /** SYN-flood guard: a per-source SYN budget and a global budget for admitting new sources. */
  public record SynGuard(Budget synsPerSource, Budget newSources) {}

  public static final XdpConfig DISABLED =
      new XdpConfig(false, Optional.empty(), Optional.empty(), false);

  public XdpConfig withEnabled(boolean on) {
    return new XdpConfig(on, packets, synGuard, classify);
  }

  public XdpConfig withPackets(Budget budget) {
    return new XdpConfig(enabled, Optional.ofNullable(budget), synGuard, classify);
  }

  public XdpConfig withSynGuard(SynGuard guard) {
    return new XdpConfig(enabled, packets, Optional.ofNullable(guard), classify);
  }

  public XdpConfig withClassify(boolean on) {
    return new XdpConfig(enabled, packets, synGuard, on);
  }
}
