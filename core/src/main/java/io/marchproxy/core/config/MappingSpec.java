package io.marchproxy.core.config;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.serde.annotation.Serdeable;
import java.util.List;

/** An L4 mapping's policy (its port and protocol are columns of their own). */
@Serdeable
@JsonInclude(JsonInclude.Include.NON_NULL)
public record MappingSpec(
    @Nullable String service,
    @Nullable AllowedSources allowedSources,
    @Nullable SourceLimits perSourceLimits,
    @Nullable String bandwidthClass,
    @Nullable Integer idleTimeoutMs,
    @Nullable String sendProxyProtocol,
    @Nullable Boolean acceptProxyProtocol) {

  public static final List<String> BANDWIDTH_CLASSES =
      List.of("unlimited", "gold", "silver", "bronze");

  @Serdeable
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record AllowedSources(@Nullable List<String> cidrs, @Nullable List<String> services) {}

  @Serdeable
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record SourceLimits(
      @Nullable Integer connectionsPerSecond, @Nullable Integer maxConnections) {}
}
