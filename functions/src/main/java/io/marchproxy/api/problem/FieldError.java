package io.marchproxy.api.problem;

import io.micronaut.serde.annotation.Serdeable;

/** One invalid field: a JSON path like {@code endpoints[2].port} and what is wrong with it. */
@Serdeable
public record FieldError(String field, String message) {}
