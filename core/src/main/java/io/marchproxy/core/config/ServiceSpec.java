package io.marchproxy.core.config;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.serde.annotation.Serdeable;
import java.util.List;

/** A backend: where it runs and how to reach it. Validated by the API, read by the translator. */
@Serdeable
@JsonInclude(JsonInclude.Include.NON_NULL)
public record ServiceSpec(
    @Nullable List<Endpoint> endpoints,
    @Nullable String lbPolicy,
    @Nullable HealthCheck healthCheck,
    @Nullable UpstreamTls tls,
    @Nullable Timeouts timeouts,
    @Nullable CallerAuth auth) {

  public static final List<String> LB_POLICIES =
      List.of("round_robin", "least_request", "ring_hash", "maglev", "random");

  @Serdeable
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record Endpoint(
      @Nullable String host,
      @Nullable Integer port,
      @Nullable Integer weight,
      @Nullable String region,
      @Nullable String zone,
      @Nullable Integer priority) {}

  @Serdeable
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record HealthCheck(
      @Nullable String type,
      @Nullable String path,
      @Nullable Integer intervalMs,
      @Nullable Integer timeoutMs,
      @Nullable Integer healthyThreshold,
      @Nullable Integer unhealthyThreshold) {}

  @Serdeable
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record UpstreamTls(
      @Nullable Boolean enabled,
      @Nullable String sni,
      @Nullable Boolean verify,
      @Nullable String caPem) {}

  @Serdeable
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record Timeouts(
      @Nullable Integer connectMs, @Nullable Integer idleMs, @Nullable Integer requestMs) {}

  /** How callers of this service prove who they are; secrets live in service_secrets. */
  @Serdeable
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record CallerAuth(
      @Nullable String mode,
      @Nullable String jwtIssuer,
      @Nullable String jwtAudience,
      @Nullable List<String> jwtAlgorithms) {}
}
