package io.marchproxy.api.routes;

import io.marchproxy.core.config.RouteSpec;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.serde.annotation.Serdeable;
import java.time.Instant;
import java.util.List;
import java.util.UUID;

@Serdeable
public record RouteView(
    UUID id,
    UUID clusterId,
    String name,
    List<String> hosts,
    RouteSpec.Match match,
    List<RouteSpec.Backend> backends,
    @Nullable Integer timeoutMs,
    @Nullable RouteSpec.Retries retries,
    @Nullable RouteSpec.Auth auth,
    @Nullable String feature,
    @Nullable Integer priority,
    long version,
    Instant createdAt,
    Instant updatedAt) {}
