package io.marchproxy.core.config;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.serde.annotation.Serdeable;
import java.util.List;

/** An L7 route: which requests, to which services (weighted), with which policy. */
@Serdeable
@JsonInclude(JsonInclude.Include.NON_NULL)
public record RouteSpec(
    @Nullable List<String> hosts,
    @Nullable Match match,
    @Nullable List<Backend> backends,
    @Nullable Integer timeoutMs,
    @Nullable Retries retries,
    @Nullable Auth auth,
    @Nullable String feature,
    @Nullable Integer priority) {

  @Serdeable
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record Match(
      @Nullable String pathPrefix,
      @Nullable String pathExact,
      @Nullable String pathRegex,
      @Nullable List<HeaderMatch> headers,
      @Nullable List<String> methods) {}

  /** Exactly one of exact, prefix, regex, present. */
  @Serdeable
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record HeaderMatch(
      @Nullable String name,
      @Nullable String exact,
      @Nullable String prefix,
      @Nullable String regex,
      @Nullable Boolean present) {}

  @Serdeable
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record Backend(@Nullable String service, @Nullable Integer weight) {}

  @Serdeable
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record Retries(
      @Nullable Integer attempts, @Nullable List<String> on, @Nullable Integer perTryTimeoutMs) {}

  @Serdeable
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record Auth(@Nullable Boolean required, @Nullable List<String> exemptPaths) {}
}
