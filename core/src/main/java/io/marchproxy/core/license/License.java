package io.marchproxy.core.license;

import io.micronaut.core.annotation.Nullable;
import io.micronaut.serde.annotation.Serdeable;
import java.time.Instant;
import java.util.List;

/**
 * What the installed license allows. {@code status}: {@code community} (no key), {@code valid},
 * {@code grace} (expired, limits still apply until {@code graceEndsAt}), or {@code expired} (past
 * grace: community limits).
 */
@Serdeable
public record License(
    String edition,
    @Nullable String customer,
    int maxProxies,
    int maxClusters,
    List<String> features,
    @Nullable Instant expiresAt,
    @Nullable Instant graceEndsAt,
    String status) {

  public static final int COMMUNITY_PROXIES = 3;
  public static final int COMMUNITY_CLUSTERS = 1;

  public static License community(String status) {
    return new License(
        "community", null, COMMUNITY_PROXIES, COMMUNITY_CLUSTERS, List.of(), null, null, status);
  }

  public boolean hasFeature(String feature) {
    return features.contains(feature);
  }
}
