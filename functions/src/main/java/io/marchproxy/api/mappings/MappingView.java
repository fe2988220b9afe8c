package io.marchproxy.api.mappings;

import io.marchproxy.core.config.MappingSpec;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.serde.annotation.Serdeable;
import java.time.Instant;
import java.util.UUID;

@Serdeable
public record MappingView(
    UUID id,
    UUID clusterId,
    String name,
    String protocol,
    int listenPort,
    String service,
    @Nullable MappingSpec.AllowedSources allowedSources,
    @Nullable MappingSpec.SourceLimits perSourceLimits,
    String bandwidthClass,
    int idleTimeoutMs,
    String sendProxyProtocol,
    boolean acceptProxyProtocol,
    long version,
    Instant createdAt,
    Instant updatedAt) {}
