package io.marchproxy.api.auth;

import io.marchproxy.api.problem.ApiException;
import io.marchproxy.core.crypto.Tokens;
import io.marchproxy.core.db.Db;
import io.marchproxy.core.users.Role;
import io.micronaut.http.HttpHeaders;
import io.micronaut.http.HttpRequest;
import io.micronaut.transaction.annotation.Transactional;
import jakarta.inject.Singleton;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;

/**
 * Turns a request's {@code Authorization: Bearer …} into an {@link Actor}: an access JWT (verified
 * locally, no database round trip) or an API token ({@code mpt_…}, looked up by hash).
 */
@Singleton
public class Authenticator {

  private static final Duration LAST_USED_GRANULARITY = Duration.ofMinutes(1);

  private final AccessTokens accessTokens;
  private final Db db;
  private final Clock clock;

  Authenticator(AccessTokens accessTokens, Db db, Clock clock) {
    this.accessTokens = accessTokens;
    this.db = db;
    this.clock = clock;
  }

  /** The caller, or 401. */
  @Transactional
  public Actor require(HttpRequest<?> request) {
    String header = request.getHeaders().get(HttpHeaders.AUTHORIZATION);
    if (header == null || header.isBlank()) {
      throw ApiException.unauthorized("missing Authorization: Bearer token");
    }
    if (!header.regionMatches(true, 0, "Bearer ", 0, 7)) {
      throw ApiException.unauthorized("Authorization must be a Bearer token");
    }
    String token = header.substring(7).trim();
    String source = source(request);
    if (token.startsWith(AuthService.API_TOKEN_KIND + "_")) {
      return apiToken(token, source);
    }
    AccessTokens.Claims c =
        accessTokens
            .verify(token)
            .orElseThrow(() -> ApiException.unauthorized("access token invalid or expired"));
    Set<UUID> clusters = c.clusters() == null ? null : Set.copyOf(c.clusters());
    return new Actor(
        UUID.fromString(c.sub()), c.name(), Role.valueOf(c.role()), clusters, "password", source);
  }

  private Actor apiToken(String token, String source) {
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

  /** The client address (API Gateway and the Netty server both report it as remote address). */
  public static String source(HttpRequest<?> request) {
    var address = request.getRemoteAddress();
    return address == null || address.getAddress() == null
        ? "unknown"
        : address.getAddress().getHostAddress();
  }
}
