package io.marchproxy.api.auth;

import io.marchproxy.api.audit.AuditLog;
import io.marchproxy.api.problem.ApiException;
import io.marchproxy.api.users.UserAccount;
import io.marchproxy.core.crypto.Tokens;
import io.marchproxy.core.db.Db;
import io.marchproxy.core.users.PasswordHasher;
import io.micronaut.context.annotation.Value;
import io.micronaut.serde.annotation.Serdeable;
import io.micronaut.transaction.annotation.Transactional;
import jakarta.inject.Singleton;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

/** Sign-in, token rotation, sign-out and API tokens. */
@Singleton
class AuthService {

  static final String REFRESH_KIND = "mpr";
  static final String API_TOKEN_KIND = "mpt";

  @Serdeable
  record TokenPair(
      String accessToken,
      String tokenType,
      long expiresIn,
      String refreshToken,
      Instant refreshExpiresAt) {}

  @Serdeable
  record ApiToken(
      UUID id,
      String name,
      String prefix,
      Instant expiresAt,
      Instant createdAt,
      Instant lastUsedAt,
      Instant revokedAt) {}

  @Serdeable
  record CreatedApiToken(UUID id, String name, String prefix, Instant expiresAt, String token) {}

  private final Db db;
  private final PasswordHasher hasher;
  private final AccessTokens accessTokens;
  private final LoginThrottle throttle;
  private final AuditLog audit;
  private final Clock clock;
  private final Duration refreshTtl;

  /**
   * Verified against when the user does not exist, so both cases take as long. A constant (the hash
   * of a random string nobody kept): computing one at start cost every Lambda cold start a bcrypt
   * round.
   */
  private static final String DUMMY_HASH =
      "$2a$12$7OuAEaBLoN5ac8DM9//GqOioO2kSVB716iqmzNmLhQCevQM6n2zE2";

  AuthService(
      Db db,
      PasswordHasher hasher,
      AccessTokens accessTokens,
      LoginThrottle throttle,
      AuditLog audit,
      Clock clock,
      @Value("${marchproxy.auth.refresh-token-ttl:7d}") Duration refreshTtl) {
    this.db = db;
    this.hasher = hasher;
    this.accessTokens = accessTokens;
    this.throttle = throttle;
    this.audit = audit;
    this.clock = clock;
    this.refreshTtl = refreshTtl;
  }

  @Transactional
  public TokenPair login(String username, char[] password, String source) {
    throttle.requireNotLocked(username, source);
    Optional<UserAccount> user =
        db.one(
            "select " + UserAccount.COLUMNS + " from users where username = ?",
            UserAccount::map,
            username);
    boolean ok =
        hasher.matches(password, user.map(UserAccount::passwordHash).orElse(DUMMY_HASH))
            && user.isPresent()
            && !user.get().disabled();
    if (!ok) {
      throttle.recordFailure(username, source);
      throw ApiException.unauthorized("invalid username or password");
    }
    throttle.recordSuccess(username);
    UserAccount u = user.get();
    audit.append(
        u.username() + " (password)",
        source,
        "auth.login",
        "user",
        u.id().toString(),
        null,
        null,
        null);
    return issue(u, UUID.randomUUID());
  }

  /** A refresh either yields new tokens or is refused; a refusal may still write (revocation). */
  sealed interface Refresh {
    record Issued(TokenPair tokens) implements Refresh {}

    record Refused(String reason) implements Refresh {}
  }

  @Transactional
  public Refresh refresh(String refreshToken) {
    Instant now = clock.instant();
    record Row(
        UUID id,
        UUID userId,
        UUID family,
        Instant expiresAt,
        Instant rotatedAt,
        Instant revokedAt) {}
    Row row =
        db.one(
                "select id, user_id, family_id, expires_at, rotated_at, revoked_at from refresh_tokens"
                    + " where token_hash = ? for update",
                rs ->
                    new Row(
                        Db.uuid(rs, "id"),
                        Db.uuid(rs, "user_id"),
                        Db.uuid(rs, "family_id"),
                        Db.instant(rs, "expires_at"),
                        Db.instant(rs, "rotated_at"),
                        Db.instant(rs, "revoked_at")),
                Tokens.sha256Hex(refreshToken))
            .orElse(null);
    if (row == null) {
      return new Refresh.Refused("unknown refresh token");
    }
    if (row.revokedAt() != null || row.expiresAt().isBefore(now)) {
      return new Refresh.Refused("refresh token expired or revoked");
    }
    if (row.rotatedAt() != null) {
      // A rotated token used again means it leaked: end the whole sign-in.
      db.update(
          "update refresh_tokens set revoked_at = ? where family_id = ? and revoked_at is null",
          now,
          row.family());
      return new Refresh.Refused("refresh token already used; the session has been revoked");
    }
    Optional<UserAccount> user =
        db.one(
                "select " + UserAccount.COLUMNS + " from users where id = ?",
                UserAccount::map,
                row.userId())
            .filter(u -> !u.disabled());
    if (user.isEmpty()) {
      return new Refresh.Refused("user no longer exists or is disabled");
    }
    db.update("update refresh_tokens set rotated_at = ? where id = ?", now, row.id());
    return new Refresh.Issued(issue(user.get(), row.family()));
  }

  @Transactional
  public void logout(String refreshToken) {
    db.update(
        "update refresh_tokens set revoked_at = ? where family_id in"
            + " (select family_id from refresh_tokens where token_hash = ?) and revoked_at is null",
        clock.instant(),
        Tokens.sha256Hex(refreshToken));
  }

  private TokenPair issue(UserAccount u, UUID family) {
    Instant now = clock.instant();
    String refresh = Tokens.generate(REFRESH_KIND);
    Instant refreshExpires = now.plus(refreshTtl);
    db.update(
        "insert into refresh_tokens (id, user_id, family_id, token_hash, expires_at) values (?, ?, ?, ?, ?)",
        UUID.randomUUID(),
        u.id(),
        family,
        Tokens.sha256Hex(refresh),
        refreshExpires);
    String access =
        accessTokens.issue(
            u.id(),
            u.username(),
            u.role(),
            u.allowedClusters() == null ? null : List.copyOf(u.allowedClusters()));
    return new TokenPair(access, "Bearer", accessTokens.ttl().toSeconds(), refresh, refreshExpires);
  }

  @Transactional
  public CreatedApiToken createApiToken(Actor actor, String name, Integer expiresInDays) {
    String token = Tokens.generate(API_TOKEN_KIND);
    UUID id = UUID.randomUUID();
    Instant expires =
        expiresInDays == null ? null : clock.instant().plus(Duration.ofDays(expiresInDays));
    db.update(
        "insert into api_tokens (id, user_id, name, prefix, token_hash, expires_at) values (?, ?, ?, ?, ?, ?)",
        id,
        actor.userId(),
        name,
        Tokens.prefix(token),
        Tokens.sha256Hex(token),
        expires);
    audit.append(
        actor,
        "api-token.create",
        "api-token",
        id.toString(),
        null,
        null,
        Map.of("name", name, "prefix", Tokens.prefix(token)));
    return new CreatedApiToken(id, name, Tokens.prefix(token), expires, token);
  }

  @Transactional
  public List<ApiToken> apiTokens(Actor actor) {
    return db.list(
        "select id, name, prefix, expires_at, created_at, last_used_at, revoked_at from api_tokens"
            + " where user_id = ? order by created_at, id",
        rs ->
            new ApiToken(
                Db.uuid(rs, "id"),
                rs.getString("name"),
                rs.getString("prefix"),
                Db.instant(rs, "expires_at"),
                Db.instant(rs, "created_at"),
                Db.instant(rs, "last_used_at"),
                Db.instant(rs, "revoked_at")),
        actor.userId());
  }

  @Transactional
  public void revokeApiToken(Actor actor, UUID id) {
    int n =
        db.update(
            "update api_tokens set revoked_at = coalesce(revoked_at, ?) where id = ? and (user_id = ? or ?)",
            clock.instant(),
            id,
            actor.userId(),
            actor.isAdmin());
    if (n == 0) {
      throw ApiException.notFound("API token", id);
    }
    audit.append(actor, "api-token.revoke", "api-token", id.toString(), null, null, null);
  }
}
