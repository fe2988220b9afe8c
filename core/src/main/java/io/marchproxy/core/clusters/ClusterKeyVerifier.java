package io.marchproxy.core.clusters;

import io.marchproxy.core.crypto.Tokens;
import io.marchproxy.core.db.Db;
import io.micronaut.transaction.annotation.Transactional;
import jakarta.inject.Singleton;
import java.time.Clock;
import java.time.Instant;
import java.util.Optional;
import java.util.UUID;

/**
 * Which cluster a proxy's API key belongs to. A rotated key keeps working until its grace window
 * ends; a revoked key stops at once.
 */
@Singleton
public class ClusterKeyVerifier {

  public static final String KIND = "mpk";

  private final Db db;
  private final Clock clock;

  public ClusterKeyVerifier(Db db, Clock clock) {
    this.db = db;
    this.clock = clock;
  }

  @Transactional
  public Optional<UUID> clusterOf(String key) {
    if (key == null || !key.startsWith(KIND + "_") || key.length() > 100) {
      return Optional.empty();
    }
    Instant now = clock.instant();
    Optional<UUID[]> found =
        db.one(
            "select id, cluster_id from cluster_api_keys where key_hash = ? and revoked_at is null"
                + " and (expires_at is null or expires_at > ?)",
            rs -> new UUID[] {Db.uuid(rs, "id"), Db.uuid(rs, "cluster_id")},
            Tokens.sha256Hex(key),
            now);
    found.ifPresent(
        ids ->
            db.update(
                "update cluster_api_keys set last_used_at = ? where id = ?"
                    + " and (last_used_at is null or last_used_at < ?)",
                now,
                ids[0],
                now.minusSeconds(60)));
    return found.map(ids -> ids[1]);
  }
}
