package io.marchproxy.api.services;

import io.marchproxy.core.config.ServiceSpec;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.serde.annotation.Serdeable;
import java.time.Instant;
import java.util.List;
import java.util.UUID;

@Serdeable
public record ServiceView(
    UUID id,
    UUID clusterId,
    String name,
    String protocol,
    List<ServiceSpec.Endpoint> endpoints,
    String lbPolicy,
    @Nullable ServiceSpec.HealthCheck healthCheck,
    @Nullable ServiceSpec.UpstreamTls tls,
    @Nullable ServiceSpec.Timeouts timeouts,
    ServiceSpec.CallerAuth auth,
    long version,
    Instant createdAt,
    Instant updatedAt) {}
