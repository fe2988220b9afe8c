package io.marchproxy.l4.policy;

import java.util.Locale;
import java.util.Map;

/**
 * What a mapping's bandwidth class means on this proxy: a byte rate shared by all the mapping's
 * connections (each direction), and the DSCP mark its packets carry so the network can prioritise
 * them. Rates can be overridden per class with {@code MARCHPROXY_L4_BANDWIDTH_<CLASS>} (bytes per
 * second, 0 = unlimited).
 */
public record BandwidthClass(String name, long bytesPerSecond, int dscp) {

  public static final Map<String, BandwidthClass> DEFAULTS =
      Map.of(
          "unlimited", new BandwidthClass("unlimited", 0, 0),
          // AF41: interactive, low drop
          "gold", new BandwidthClass("gold", 125_000_000L, 34),
          // AF21: transactional
          "silver", new BandwidthClass("silver", 25_000_000L, 18),
          // CS1: scavenger / bulk
          "bronze", new BandwidthClass("bronze", 6_250_000L, 8));

  /** The class with this proxy's overrides applied. */
  public static BandwidthClass of(String name, Map<String, String> env) {
    BandwidthClass d = DEFAULTS.getOrDefault(name, DEFAULTS.get("unlimited"));
    String override = env.get("MARCHPROXY_L4_BANDWIDTH_" + name.toUpperCase(Locale.ROOT));
    if (override != null && !override.isBlank()) {
      return new BandwidthClass(name, Long.parseLong(override.trim()), d.dscp());
    }
    return d;
  }

  /** The IP_TOS byte: DSCP in the upper six bits. */
  public int tos() {
    return dscp << 2;
  }
}
