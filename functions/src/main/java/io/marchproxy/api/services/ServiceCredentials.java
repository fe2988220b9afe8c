package io.marchproxy.api.services;

import io.marchproxy.api.audit.AuditLog;
import io.marchproxy.api.auth.Actor;
import io.marchproxy.api.problem.ApiException;
import io.marchproxy.api.revisions.RevisionWriter;
import io.marchproxy.core.crypto.Sealed;
import io.marchproxy.core.crypto.SecretBox;
import io.marchproxy.core.crypto.Tokens;
import io.marchproxy.core.db.Db;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.serde.annotation.Serdeable;
import io.micronaut.transaction.annotation.Transactional;
import jakarta.inject.Singleton;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * Caller credentials of a service: static tokens (stored as sha256) or JWT signing secrets (stored
 * encrypted), generated here, shown once, rotated with overlap.
 */
@Singleton
public class ServiceCredentials {

  static final String TOKEN_KIND = "mps";

  @Serdeable
  public record Credential(
      UUID id,
      String kind,
      String prefix,
      Instant createdAt,
      @Nullable Instant expiresAt,
      @Nullable Instant revokedAt) {}

  /** Returned once, at creation: the secret itself is never readable again. */
  @Serdeable
  public record CreatedCredential(
      UUID id, String kind, String prefix, @Nullable String token, @Nullable String jwtSecret) {}

  @Serdeable
  public record Rotated(CreatedCredential credential, UUID previousId, Instant previousExpiresAt) {}

  private final Db db;
  private final SecretBox box;
  private final AuditLog audit;
  private final RevisionWriter revisions;
  private final Clock clock;

  ServiceCredentials(Db db, SecretBox box, AuditLog audit, RevisionWriter revisions, Clock clock) {
    this.db = db;
    this.box = box;
    this.audit = audit;
    this.revisions = revisions;
    this.clock = clock;
  }

  /** Inserts a credential of the service's auth mode (no audit/revision: the caller does it). */
  CreatedCredential insert(UUID serviceId, String kind) {
    UUID id = UUID.randomUUID();
    if (kind.equals("token")) {
      String token = Tokens.generate(TOKEN_KIND);
      db.update(
          "insert into service_secrets (id, service_id, kind, prefix, token_hash) values (?, ?, 'token', ?, ?)",
          id,
          serviceId,
          Tokens.prefix(token),
          Tokens.sha256Hex(token));
      return new CreatedCredential(id, kind, Tokens.prefix(token), token, null);
    }
    String secret = Base64.getUrlEncoder().withoutPadding().encodeToString(Tokens.randomBytes(32));
    Sealed sealed = box.seal(secret.getBytes(StandardCharsets.UTF_8), "service-secret:" + id);
    String prefix = "jwt_" + secret.substring(0, Tokens.PREFIX_CHARS);
    db.update(
        "insert into service_secrets (id, service_id, kind, prefix, secret_ciphertext, secret_wrapped_key, secret_kek)"
            + " values (?, ?, 'jwt', ?, ?, ?, ?)",
        id,
        serviceId,
        prefix,
        sealed.ciphertext(),
        sealed.wrappedKey(),
        sealed.kekId());
    return new CreatedCredential(id, kind, prefix, null, secret);
  }

  @Transactional
  public List<Credential> list(UUID serviceId) {
    return db.list(
        "select id, kind, prefix, created_at, expires_at, revoked_at from service_secrets where service_id = ?"
            + " order by created_at, id",
        rs ->
            new Credential(
                Db.uuid(rs, "id"),
                rs.getString("kind"),
                rs.getString("prefix"),
                Db.instant(rs, "created_at"),
                Db.instant(rs, "expires_at"),
                Db.instant(rs, "revoked_at")),
        serviceId);
  }

  @Transactional
  public CreatedCredential create(Actor actor, UUID clusterId, UUID serviceId, String authMode) {
    if (authMode.equals("none")) {
      throw ApiException.conflict(
          "the service takes no caller auth (auth.mode is none); set a mode first");
    }
    CreatedCredential c = insert(serviceId, authMode);
    audit.append(
        actor,
        "service.credential.create",
        "service-credential",
        c.id().toString(),
        clusterId,
        null,
        Map.of("serviceId", serviceId.toString(), "kind", c.kind(), "prefix", c.prefix()));
    revisions.commit(clusterId, actor.auditName(), "service credential created");
    return c;
  }

  @Transactional
  public Rotated rotate(
      Actor actor,
      UUID clusterId,
      UUID serviceId,
      String authMode,
      UUID credentialId,
      Duration grace) {
    Instant now = clock.instant();
    record Old(String kind, Instant expiresAt, Instant revokedAt) {}
    Old old =
        db.one(
                "select kind, expires_at, revoked_at from service_secrets where id = ? and service_id = ? for update",
                rs ->
                    new Old(
                        rs.getString("kind"),
                        Db.instant(rs, "expires_at"),
                        Db.instant(rs, "revoked_at")),
                credentialId,
                serviceId)
            .orElseThrow(() -> ApiException.notFound("credential", credentialId));
    if (old.revokedAt() != null || (old.expiresAt() != null && !old.expiresAt().isAfter(now))) {
      throw ApiException.conflict("credential " + credentialId + " is already revoked or expired");
    }
    Instant until = now.plus(grace);
    if (old.expiresAt() != null && old.expiresAt().isBefore(until)) {
      until = old.expiresAt();
    }
    db.update("update service_secrets set expires_at = ? where id = ?", until, credentialId);
    CreatedCredential fresh = insert(serviceId, authMode.equals("none") ? old.kind() : authMode);
    audit.append(
        actor,
        "service.credential.rotate",
        "service-credential",
        credentialId.toString(),
        clusterId,
        Map.of("id", credentialId.toString()),
        Map.of(
            "newId",
            fresh.id().toString(),
            "prefix",
            fresh.prefix(),
            "previousExpiresAt",
            until.toString()));
    revisions.commit(clusterId, actor.auditName(), "service credential rotated");
    return new Rotated(fresh, credentialId, until);
  }

  @Transactional
  public void revoke(Actor actor, UUID clusterId, UUID serviceId, UUID credentialId) {
    int n =
        db.update(
            "update service_secrets set revoked_at = coalesce(revoked_at, ?) where id = ? and service_id = ?",
            clock.instant(),
            credentialId,
            serviceId);
    if (n == 0) {
      throw ApiException.notFound("credential", credentialId);
    }
    audit.append(
        actor,
        "service.credential.revoke",
        "service-credential",
        credentialId.toString(),
        clusterId,
        null,
        null);
    revisions.commit(clusterId, actor.auditName(), "service credential revoked");
  }
}
