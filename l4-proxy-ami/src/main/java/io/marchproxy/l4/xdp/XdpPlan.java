package io.marchproxy.l4.xdp;

import io.marchproxy.l4.config.ListenerSpec;
import io.marchproxy.l4.config.ProxyConfig;
import io.marchproxy.xdp.Budget;
import io.marchproxy.xdp.Cidr;
import io.marchproxy.xdp.Protocol;
import io.marchproxy.xdp.XdpConfig;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;

/**
 * What the kernel maps should hold for a config: derived from the listeners the proxy runs (a pure
 * function, so it is tested without a kernel).
 *
 * <ul>
 *   <li>protected ports: every listener's port, with its protocol (TCP, UDP or both);
 *   <li>SYN guard: when every TCP listener carries {@code perSourceLimits.connectionsPerSecond}, a
 *       per-source SYN budget of their sum times the headroom (XDP's budget is per source across
 *       all protected ports, so the sum is what one source may legitimately open); one TCP listener
 *       without a per-source limit keeps the guard off, since XDP cannot exempt its port;
 *   <li>packet budget, new-source cap, allow and deny lists: the operator's settings (the
 *       translator emits no interface-wide lists: {@code allowedSources} is per mapping and is
 *       enforced by the proxy's RBAC).
 * </ul>
 *
 * @param synGuardOffBecause why the SYN guard is off, when it is
 */
public record XdpPlan(
    Map<Integer, Set<Protocol>> ports,
    XdpConfig config,
    List<Cidr> allow,
    List<Cidr> deny,
    Optional<String> synGuardOffBecause) {

  public XdpPlan {
    TreeMap<Integer, Set<Protocol>> copy = new TreeMap<>();
    ports.forEach((p, s) -> copy.put(p, Set.copyOf(s)));
    ports = java.util.Collections.unmodifiableMap(copy);
    allow = List.copyOf(allow);
    deny = List.copyOf(deny);
  }

  public static XdpPlan of(ProxyConfig config, XdpSettings settings) {
    Map<Integer, Set<Protocol>> ports = new TreeMap<>();
    double connectionsPerSecond = 0;
    List<String> unlimited = new ArrayList<>();
    int tcpListeners = 0;
    for (ListenerSpec l : config.listeners().values()) {
      Protocol protocol = l instanceof ListenerSpec.Tcp ? Protocol.TCP : Protocol.UDP;
      ports
          .computeIfAbsent(l.address().getPort(), p -> EnumSet.noneOf(Protocol.class))
          .add(protocol);
      if (protocol == Protocol.TCP) {
        tcpListeners++;
        double cps = l.meta().perSourceConnectionsPerSecond();
        if (cps > 0) {
          connectionsPerSecond += cps;
        } else {
          unlimited.add(l.name());
        }
      }
    }
    Optional<XdpConfig.SynGuard> guard = Optional.empty();
    Optional<String> off = Optional.empty();
    if (tcpListeners == 0) {
      off = Optional.of("no TCP listener");
    } else if (!unlimited.isEmpty()) {
      off =
          Optional.of("no perSourceLimits.connectionsPerSecond on " + String.join(", ", unlimited));
    } else {
      long perSecond =
          Math.min(0xffff_ffffL, (long) Math.ceil(connectionsPerSecond * settings.synHeadroom()));
      guard =
          Optional.of(
              new XdpConfig.SynGuard(new Budget(perSecond, perSecond), settings.newSources()));
    }
    return new XdpPlan(
        ports,
        new XdpConfig(true, settings.packets(), guard, true),
        settings.allow(),
        settings.deny(),
        off);
  }
}
