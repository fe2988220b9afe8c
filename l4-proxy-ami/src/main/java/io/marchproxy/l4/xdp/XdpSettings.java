package io.marchproxy.l4.xdp;

import io.marchproxy.xdp.AttachMode;
import io.marchproxy.xdp.Budget;
import io.marchproxy.xdp.Cidr;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * The XDP fast path's settings (environment, see docs/l4-proxy.md). No interface: XDP is off.
 *
 * @param iface the interface to attach to
 * @param mode the preferred attach mode (native falls back to generic)
 * @param packets a per-source packet budget on every protected port (operator-wide; the mappings
 *     carry connection limits, not packet rates)
 * @param newSources the global budget for admitting sources the table has not seen (SYN guard on)
 * @param synHeadroom the SYN budget per source is this multiple of the sum of the TCP mappings'
 *     {@code perSourceLimits.connectionsPerSecond}: XDP drops floods, the proxy enforces exactly
 * @param allow sources that pass protected ports without XDP limits
 * @param deny sources dropped on protected ports
 * @param detachOnStop detach and remove the pinned state on stop (else the program stays attached
 *     with its pinned state, so a restart keeps the source tables, as docs/xdp.md decides)
 */
public record XdpSettings(
    Optional<String> iface,
    AttachMode mode,
    Optional<Budget> packets,
    Budget newSources,
    double synHeadroom,
    List<Cidr> allow,
    List<Cidr> deny,
    boolean detachOnStop) {

  public static final XdpSettings OFF =
      new XdpSettings(
          Optional.empty(),
          AttachMode.NATIVE,
          Optional.empty(),
          new Budget(10_000, 20_000),
          2.0,
          List.of(),
          List.of(),
          false);

  public XdpSettings {
    allow = List.copyOf(allow);
    deny = List.copyOf(deny);
    if (!(synHeadroom >= 1.0)) {
      throw new IllegalArgumentException(
          "MARCHPROXY_L4_XDP_SYN_HEADROOM must be a number >= 1, got " + synHeadroom);
    }
  }

  public boolean enabled() {
    return iface.isPresent();
  }

  /** Reads MARCHPROXY_L4_XDP_*; a bad value is an IllegalArgumentException naming the variable. */
  public static XdpSettings fromEnv(Map<String, String> env) {
    Optional<String> iface =
        Optional.ofNullable(env.get("MARCHPROXY_L4_XDP_INTERFACE"))
            .map(String::trim)
            .filter(s -> !s.isEmpty());
    String mode = env.getOrDefault("MARCHPROXY_L4_XDP_MODE", "native").trim();
    AttachMode attachMode =
        switch (mode.toLowerCase(Locale.ROOT)) {
          case "native" -> AttachMode.NATIVE;
          case "generic" -> AttachMode.GENERIC;
          default ->
              throw new IllegalArgumentException(
                  "MARCHPROXY_L4_XDP_MODE must be native or generic, got '" + mode + "'");
        };
    String onStop = env.getOrDefault("MARCHPROXY_L4_XDP_ON_STOP", "keep").trim();
    boolean detach =
        switch (onStop.toLowerCase(Locale.ROOT)) {
          case "keep" -> false;
          case "detach" -> true;
          default ->
              throw new IllegalArgumentException(
                  "MARCHPROXY_L4_XDP_ON_STOP must be keep or detach, got '" + onStop + "'");
        };
    double headroom;
    try {
      headroom = Double.parseDouble(env.getOrDefault("MARCHPROXY_L4_XDP_SYN_HEADROOM", "2"));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(
          "MARCHPROXY_L4_XDP_SYN_HEADROOM must be a number >= 1: " + e.getMessage());
    }
    return new XdpSettings(
        iface,
        attachMode,
        Optional.ofNullable(env.get("MARCHPROXY_L4_XDP_PACKET_RATE"))
            .filter(s -> !s.isBlank())
            .map(s -> budget("MARCHPROXY_L4_XDP_PACKET_RATE", s)),
        budget(
            "MARCHPROXY_L4_XDP_NEW_SOURCES",
            env.getOrDefault("MARCHPROXY_L4_XDP_NEW_SOURCES", "10000/s:20000")),
        headroom,
        cidrs("MARCHPROXY_L4_XDP_ALLOW", env.getOrDefault("MARCHPROXY_L4_XDP_ALLOW", "")),
        cidrs("MARCHPROXY_L4_XDP_DENY", env.getOrDefault("MARCHPROXY_L4_XDP_DENY", "")),
        detach);
  }

  private static Budget budget(String variable, String text) {
    try {
      return Budget.parse(text.trim());
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(variable + ": " + e.getMessage());
    }
  }

  private static List<Cidr> cidrs(String variable, String text) {
    try {
      return Arrays.stream(text.split(","))
          .map(String::trim)
          .filter(s -> !s.isEmpty())
          .map(Cidr::parse)
          .toList();
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(variable + ": " + e.getMessage());
    }
  }
}
