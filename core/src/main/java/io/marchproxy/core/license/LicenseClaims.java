package io.marchproxy.core.license;

import io.micronaut.core.annotation.Nullable;
import io.micronaut.serde.annotation.Serdeable;
import java.util.List;

/** The signed payload of a license key. {@code exp} and {@code iat} are epoch seconds. */
@Serdeable
public record LicenseClaims(
    String iss,
    String customer,
    String edition,
    int maxProxies,
    int maxClusters,
    @Nullable List<String> features,
    long iat,
    long exp,
    @Nullable String jti) {}
