package io.marchproxy.api.mappings;

import io.marchproxy.api.desiredstate.NetworkRules;
import io.marchproxy.api.problem.Checks;
import io.marchproxy.core.config.MappingSpec;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.serde.annotation.Serdeable;
import java.util.Set;

/** Create or replace an L4 mapping: a listen port on the cluster's L4 proxies to a service. */
@Serdeable
public record MappingRequest(
    @Nullable String name,
    @Nullable String protocol,
    @Nullable Integer listenPort,
    @Nullable String service,
    @Nullable MappingSpec.AllowedSources allowedSources,
    @Nullable MappingSpec.SourceLimits perSourceLimits,
    @Nullable String bandwidthClass,
    @Nullable Integer idleTimeoutMs,
    @Nullable String sendProxyProtocol,
    @Nullable Boolean acceptProxyProtocol) {

  public static final int MAX_SOURCES = 100;
  static final Set<String> PROTOCOLS = Set.of("tcp", "udp");
  static final Set<String> PROXY_PROTOCOL = Set.of("none", "v1", "v2");

  MappingSpec toSpec() {
    return new MappingSpec(
        service,
        allowedSources,
        perSourceLimits,
        bandwidthClass == null ? "unlimited" : bandwidthClass,
        idleTimeoutMs == null ? ("udp".equals(protocol) ? 60_000 : 3_600_000) : idleTimeoutMs,
        sendProxyProtocol == null ? "none" : sendProxyProtocol,
        acceptProxyProtocol == null ? Boolean.FALSE : acceptProxyProtocol);
  }

  void validate() {
    var c = new Checks();
    c.name(name, "name");
    if (c.required(protocol, "protocol")) {
      c.check(PROTOCOLS.contains(protocol), "protocol", "must be tcp or udp");
    }
    if (c.required(listenPort, "listenPort")) {
      c.range(listenPort, 1, 65535, "listenPort");
    }
    c.name(service, "service");
    if (allowedSources != null) {
      if (allowedSources.cidrs() != null) {
        c.maxItems(allowedSources.cidrs(), MAX_SOURCES, "allowedSources.cidrs");
        for (int i = 0; i < allowedSources.cidrs().size(); i++) {
          c.check(
              NetworkRules.isCidr(allowedSources.cidrs().get(i)),
              "allowedSources.cidrs[" + i + "]",
              "must be an IPv4 or IPv6 CIDR with zero host bits, like 10.0.0.0/8");
        }
      }
      if (allowedSources.services() != null) {
        c.maxItems(allowedSources.services(), MAX_SOURCES, "allowedSources.services");
        for (int i = 0; i < allowedSources.services().size(); i++) {
          c.name(allowedSources.services().get(i), "allowedSources.services[" + i + "]");
        }
      }
    }
    if (perSourceLimits != null) {
      c.range(
          perSourceLimits.connectionsPerSecond(),
          1,
          1_000_000,
          "perSourceLimits.connectionsPerSecond");
      c.range(perSourceLimits.maxConnections(), 1, 1_000_000, "perSourceLimits.maxConnections");
    }
    c.check(
        bandwidthClass == null || MappingSpec.BANDWIDTH_CLASSES.contains(bandwidthClass),
        "bandwidthClass",
        "must be one of " + MappingSpec.BANDWIDTH_CLASSES);
    c.range(idleTimeoutMs, 1000, 86_400_000, "idleTimeoutMs");
    c.check(
        sendProxyProtocol == null || PROXY_PROTOCOL.contains(sendProxyProtocol),
        "sendProxyProtocol",
        "must be none, v1 or v2");
    boolean udp = "udp".equals(protocol);
    c.check(
        !udp || sendProxyProtocol == null || "none".equals(sendProxyProtocol),
        "sendProxyProtocol",
        "is TCP only");
    c.check(
        !udp || !Boolean.TRUE.equals(acceptProxyProtocol), "acceptProxyProtocol", "is TCP only");
    c.throwIfInvalid();
  }
}
