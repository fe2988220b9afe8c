package io.marchproxy.api.services;

import io.marchproxy.api.desiredstate.NetworkRules;
import io.marchproxy.api.problem.Checks;
import io.marchproxy.core.config.ServiceSpec;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.serde.annotation.Serdeable;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/** Create or replace a service. */
@Serdeable
public record ServiceRequest(
    @Nullable String name,
    @Nullable String protocol,
    @Nullable List<ServiceSpec.Endpoint> endpoints,
    @Nullable String lbPolicy,
    @Nullable ServiceSpec.HealthCheck healthCheck,
    @Nullable ServiceSpec.UpstreamTls tls,
    @Nullable ServiceSpec.Timeouts timeouts,
    @Nullable ServiceSpec.CallerAuth auth) {

  public static final int MAX_ENDPOINTS = 1000;
  public static final int MAX_CA_PEM = 64 * 1024;
  static final Set<String> PROTOCOLS = Set.of("http", "grpc", "tcp", "udp");
  static final Set<String> AUTH_MODES = Set.of("none", "token", "jwt");
  static final Set<String> JWT_ALGORITHMS = Set.of("HS256", "HS384", "HS512");
  private static final Pattern LOCALITY = Pattern.compile("^[a-z0-9]([a-z0-9-]{0,62})?$");

  public String authMode() {
    return auth == null || auth.mode() == null ? "none" : auth.mode();
  }

  /** The spec as stored, with defaults filled in so stored documents are explicit. */
  ServiceSpec toSpec() {
    List<ServiceSpec.Endpoint> eps =
        endpoints.stream()
            .map(
                e ->
                    new ServiceSpec.Endpoint(
                        e.host(),
                        e.port(),
                        e.weight() == null ? 1 : e.weight(),
                        e.region(),
                        e.zone(),
                        e.priority() == null ? 0 : e.priority()))
            .toList();
    ServiceSpec.CallerAuth a =
        new ServiceSpec.CallerAuth(
            authMode(),
            auth == null ? null : auth.jwtIssuer(),
            auth == null ? null : auth.jwtAudience(),
            authMode().equals("jwt")
                ? (auth.jwtAlgorithms() == null ? List.of("HS256") : auth.jwtAlgorithms())
                : null);
    return new ServiceSpec(
        eps, lbPolicy == null ? "round_robin" : lbPolicy, healthCheck, tls, timeouts, a);
  }

  void validate() {
    var c = new Checks();
    c.name(name, "name");
    if (c.required(protocol, "protocol")) {
      c.check(PROTOCOLS.contains(protocol), "protocol", "must be one of " + PROTOCOLS);
    }
    if (c.required(endpoints, "endpoints")) {
      c.check(!endpoints.isEmpty(), "endpoints", "must have at least one endpoint");
      c.maxItems(endpoints, MAX_ENDPOINTS, "endpoints");
      for (int i = 0; i < Math.min(endpoints.size(), MAX_ENDPOINTS); i++) {
        var e = endpoints.get(i);
        String f = "endpoints[" + i + "]";
        if (e == null) {
          c.check(false, f, "must not be null");
          continue;
        }
        if (c.required(e.host(), f + ".host")) {
          c.check(
              NetworkRules.isHostOrIp(e.host()),
              f + ".host",
              "must be a hostname or an IP address");
        }
        if (c.required(e.port(), f + ".port")) {
          c.range(e.port(), 1, 65535, f + ".port");
        }
        c.range(e.weight(), 1, 1000, f + ".weight");
        c.range(e.priority(), 0, 10, f + ".priority");
        c.check(
            e.region() == null || LOCALITY.matcher(e.region()).matches(),
            f + ".region",
            "must be 1-63 lower-case letters, digits or '-'");
        c.check(
            e.zone() == null || LOCALITY.matcher(e.zone()).matches(),
            f + ".zone",
            "must be 1-63 lower-case letters, digits or '-'");
      }
    }
    c.check(
        lbPolicy == null || ServiceSpec.LB_POLICIES.contains(lbPolicy),
        "lbPolicy",
        "must be one of " + ServiceSpec.LB_POLICIES);
    boolean udp = "udp".equals(protocol);
    boolean l4 = udp || "tcp".equals(protocol);
    if (healthCheck != null) {
      String type = healthCheck.type() == null ? "tcp" : healthCheck.type();
      c.check(
          Set.of("tcp", "http", "grpc").contains(type),
          "healthCheck.type",
          "must be tcp, http or grpc");
      c.check(!udp, "healthCheck", "UDP services cannot be health checked actively");
      c.check(
          !type.equals("http")
              || (healthCheck.path() != null && healthCheck.path().startsWith("/")),
          "healthCheck.path",
          "is required for http checks and must start with '/'");
      c.range(healthCheck.intervalMs(), 1000, 300_000, "healthCheck.intervalMs");
      c.range(healthCheck.timeoutMs(), 100, 60_000, "healthCheck.timeoutMs");
      int interval = healthCheck.intervalMs() == null ? 5000 : healthCheck.intervalMs();
      c.check(
          healthCheck.timeoutMs() == null || healthCheck.timeoutMs() < interval,
          "healthCheck.timeoutMs",
          "must be shorter than the interval");
      c.range(healthCheck.healthyThreshold(), 1, 10, "healthCheck.healthyThreshold");
      c.range(healthCheck.unhealthyThreshold(), 1, 10, "healthCheck.unhealthyThreshold");
    }
    if (tls != null) {
      c.check(!udp, "tls", "UDP services cannot use TLS");
      c.check(
          tls.sni() == null || NetworkRules.isHostname(tls.sni()), "tls.sni", "must be a hostname");
      c.maxLength(tls.caPem(), MAX_CA_PEM, "tls.caPem");
      c.check(
          tls.caPem() == null || tls.caPem().contains("-----BEGIN CERTIFICATE-----"),
          "tls.caPem",
          "must be PEM certificates");
    }
    if (timeouts != null) {
      c.range(timeouts.connectMs(), 1, 60_000, "timeouts.connectMs");
      c.range(timeouts.idleMs(), 1000, 86_400_000, "timeouts.idleMs");
      c.range(timeouts.requestMs(), 0, 3_600_000, "timeouts.requestMs");
    }
    if (auth != null) {
      c.check(
          auth.mode() == null || AUTH_MODES.contains(auth.mode()),
          "auth.mode",
          "must be one of " + AUTH_MODES);
      c.check(
          !l4 || "none".equals(authMode()),
          "auth.mode",
          "only http and grpc services take caller auth");
      c.check(
          auth.jwtAlgorithms() == null
              || (!auth.jwtAlgorithms().isEmpty()
                  && JWT_ALGORITHMS.containsAll(auth.jwtAlgorithms())),
          "auth.jwtAlgorithms",
          "must be a non-empty subset of " + JWT_ALGORITHMS);
      c.maxLength(auth.jwtIssuer(), 256, "auth.jwtIssuer")
          .maxLength(auth.jwtAudience(), 256, "auth.jwtAudience");
    }
    c.throwIfInvalid();
  }
}
