package io.marchproxy.api.proxies;

import io.marchproxy.api.desiredstate.NetworkRules;
import io.marchproxy.api.problem.Checks;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.serde.annotation.Serdeable;
import java.util.Set;

@Serdeable
public record RegisterRequest(
    @Nullable String name,
    @Nullable String kind,
    @Nullable String hostname,
    @Nullable String region,
    @Nullable String zone,
    @Nullable String version) {

  static final Set<String> KINDS = Set.of("envoy", "l4", "grpc");

  void validate() {
    var c = new Checks();
    c.name(name, "name");
    if (c.required(kind, "kind")) {
      c.check(KINDS.contains(kind), "kind", "must be one of " + KINDS);
    }
    c.check(
        hostname == null || hostname.isEmpty() || NetworkRules.isHostOrIp(hostname),
        "hostname",
        "must be a hostname or IP address");
    c.maxLength(region, 64, "region").maxLength(zone, 64, "zone").maxLength(version, 64, "version");
    c.throwIfInvalid();
  }
}
