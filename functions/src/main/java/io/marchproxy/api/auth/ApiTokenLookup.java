package io.marchproxy.api.auth;

import io.marchproxy.api.problem.ApiException;
import io.marchproxy.core.crypto.Tokens;
import io.marchproxy.core.db.Db;
import io.marchproxy.core.users.Role;
import io.micronaut.transaction.annotation.Transactional;
import jakarta.inject.Singleton;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;

/** API tokens ({@code mpt_…}) by their hash, with their user's current role and clusters. */
@Singleton
class ApiTokenLookup {

  private static final Duration LAST_USED_GRANULARITY = Duration.ofMinutes(1);

  private final Db db;
  private final Clock clock;

  ApiTokenLookup(Db db, Clock clock) {
    this.db = db;
    this.clock = clock;
  }

  @Transactional
  public Actor actor(String token, String source) {
    Instant now = clock.instant();
    record Row(
        UUID id,
        String prefix,
        Instant lastUsed,
        UUID userId,
        String username,
        Role role,
        List<String> clusters) {}
    Row row =
        db.one(
                "select t.id, t.prefix, t.last_used_at, u.id as user_id, u.username, u.role,"
                    + " u.allowed_clusters from api_tokens t join users u on u.id = t.user_id"
                    + " where t.token_hash = ? and t.revoked_at is null"
                    + " and (t.expires_at is null or t.expires_at > ?) and not u.disabled",
                rs ->
                    new Row(
                        Db.uuid(rs, "id"),
                        rs.getString("prefix"),
                        Db.instant(rs, "last_used_at"),
                        Db.uuid(rs, "user_id"),
                        rs.getString("username"),
                        Role.valueOf(rs.getString("role")),
                        Db.strings(rs, "allowed_clusters")),
                Tokens.sha256Hex(token),
                now)
            .orElseThrow(() -> ApiException.unauthorized("API token unknown, expired or revoked"));
    if (row.lastUsed() == null || row.lastUsed().isBefore(now.minus(LAST_USED_GRANULARITY))) {
      db.update("update api_tokens set last_used_at = ? where id = ?", now, row.id());
    }
    Set<UUID> clusters = null;
    if (row.clusters() != null) {
      clusters = new HashSet<>();
      for (String s : row.clusters()) {
        clusters.add(UUID.fromString(s));
      }
    }
    return new Actor(
        row.userId(), row.username(), row.role(), clusters, "token " + row.prefix(), source);
  }
}
