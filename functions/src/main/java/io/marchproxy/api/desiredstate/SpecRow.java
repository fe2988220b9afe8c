package io.marchproxy.api.desiredstate;

import java.time.Instant;
import java.util.Map;
import java.util.UUID;

/** A stored desired-state resource: its identity, typed columns and its spec as JSON. */
public record SpecRow(
    UUID id,
    UUID clusterId,
    String name,
    Map<String, Object> columns,
    String specJson,
    long version,
    Instant createdAt,
    Instant updatedAt) {}
