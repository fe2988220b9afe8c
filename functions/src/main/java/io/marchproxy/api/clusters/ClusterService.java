package io.marchproxy.api.clusters;

import io.marchproxy.api.audit.AuditLog;
import io.marchproxy.api.auth.Actor;
import io.marchproxy.api.license.LicenseService;
import io.marchproxy.api.paging.Page;
import io.marchproxy.api.paging.PageRequest;
import io.marchproxy.api.problem.ApiException;
import io.marchproxy.api.problem.ETags;
import io.marchproxy.api.revisions.RevisionWriter;
import io.marchproxy.core.clusters.ClusterKeyVerifier;
import io.marchproxy.core.crypto.Tokens;
import io.marchproxy.core.db.Db;
import io.micronaut.serde.annotation.Serdeable;
import io.micronaut.transaction.annotation.Transactional;
import jakarta.inject.Singleton;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/** Clusters and the API keys their proxies authenticate with. */
@Singleton
public class ClusterService {

  public static final Duration DEFAULT_GRACE = Duration.ofHours(1);
  public static final Duration MAX_GRACE = Duration.ofDays(7);

  @Serdeable
  public record ApiKey(
      UUID id,
      String name,
      String prefix,
      Instant createdAt,
      Instant expiresAt,
      Instant revokedAt,
      Instant lastUsedAt) {}

  @Serdeable
  public record CreatedKey(UUID id, String name, String prefix, String key, Instant createdAt) {}

  @Serdeable
  public record RotatedKey(CreatedKey newKey, UUID previousKeyId, Instant previousKeyExpiresAt) {}

  private final Db db;
  private final AuditLog audit;
  private final LicenseService license;
  private final RevisionWriter revisions;
  private final Clock clock;

  ClusterService(
      Db db, AuditLog audit, LicenseService license, RevisionWriter revisions, Clock clock) {
    this.db = db;
    this.audit = audit;
    this.license = license;
    this.revisions = revisions;
    this.clock = clock;
  }

  @Transactional
  public ClusterView create(Actor actor, String name, String description) {
    actor.requireAdmin();
    license.requireClusterCapacity();
    if (db.one("select 1 from clusters where name = ?", rs -> 1, name).isPresent()) {
      throw ApiException.conflict("a cluster named '" + name + "' already exists");
    }
    UUID id = UUID.randomUUID();
    db.update(
        "insert into clusters (id, name, description) values (?, ?, ?)", id, name, description);
    revisions.commit(id, actor.auditName(), "cluster created");
    ClusterView created = get(actor, id);
    audit.append(actor, "cluster.create", "cluster", id.toString(), id, null, created);
    return created;
  }

  @Transactional
  public ClusterView get(Actor actor, UUID id) {
    actor.requireRead(id);
    return db.one(
            "select " + ClusterView.COLUMNS + " from clusters where id = ?", ClusterView::map, id)
        .orElseThrow(() -> ApiException.notFound("cluster", id));
  }

  @Transactional
  public Page<ClusterView> list(Actor actor, PageRequest page) {
    List<ClusterView> rows =
        db.list(
            "select "
                + ClusterView.COLUMNS
                + " from clusters where name > ?"
                + " and (?::uuid[] is null or id = any(?::uuid[])) order by name limit ?",
            ClusterView::map,
            page.after(),
            actor.allowedClusters() == null ? null : new ArrayList<>(actor.allowedClusters()),
            actor.allowedClusters() == null ? null : new ArrayList<>(actor.allowedClusters()),
            page.fetch());
    return Page.of(rows, page, ClusterView::name);
  }

  @Transactional
  public ClusterView update(Actor actor, UUID id, Long expectedVersion, String description) {
    actor.requireAdmin();
    ClusterView before = lockForUpdate(actor, id, expectedVersion);
    if (before.description().equals(description)) {
      return before;
    }
    db.update(
        "update clusters set description = ?, version = version + 1, updated_at = now() where id = ?",
        description,
        id);
    ClusterView after = get(actor, id);
    audit.append(actor, "cluster.update", "cluster", id.toString(), id, before, after);
    return after;
  }

  @Transactional
  public void delete(Actor actor, UUID id, Long expectedVersion) {
    actor.requireAdmin();
    ClusterView before = lockForUpdate(actor, id, expectedVersion);
    long proxies =
        db.one(
                "select count(*) from proxies where cluster_id = ? and status <> 'offline'",
                rs -> rs.getLong(1),
                id)
            .orElse(0L);
    if (proxies > 0) {
      throw ApiException.conflict(
          "cluster '"
              + before.name()
              + "' still has "
              + proxies
              + " proxies that are not offline; delete them first");
    }
    db.update("delete from clusters where id = ?", id);
    audit.append(actor, "cluster.delete", "cluster", id.toString(), null, before, null);
  }

  /** Locks the cluster row for this transaction and checks the caller's If-Match. */
  @Transactional
  public ClusterView lockForUpdate(Actor actor, UUID id, Long expectedVersion) {
    actor.requireRead(id);
    ClusterView c =
        db.one(
                "select " + ClusterView.COLUMNS + " from clusters where id = ? for update",
                ClusterView::map,
                id)
            .orElseThrow(() -> ApiException.notFound("cluster", id));
    ETags.requireMatch(expectedVersion, c.version(), "cluster " + c.name());
    return c;
  }

  // ---- API keys ------------------------------------------------------------------------------

  @Transactional
  public CreatedKey createKey(Actor actor, UUID clusterId, String name) {
    actor.requireAdmin();
    ClusterView cluster = get(actor, clusterId);
    CreatedKey key = insertKey(clusterId, name);
    audit.append(
        actor,
        "cluster.key.create",
        "cluster-key",
        key.id().toString(),
        cluster.id(),
        null,
        Map.of("name", name, "prefix", key.prefix()));
    return key;
  }

  @Transactional
  public List<ApiKey> keys(Actor actor, UUID clusterId) {
    get(actor, clusterId);
    return db.list(
        "select id, name, prefix, created_at, expires_at, revoked_at, last_used_at from cluster_api_keys"
            + " where cluster_id = ? order by created_at, id",
        rs ->
            new ApiKey(
                Db.uuid(rs, "id"),
                rs.getString("name"),
                rs.getString("prefix"),
                Db.instant(rs, "created_at"),
                Db.instant(rs, "expires_at"),
                Db.instant(rs, "revoked_at"),
                Db.instant(rs, "last_used_at")),
        clusterId);
  }

  /** A new key now; the old one keeps working for {@code grace}, then stops. */
  @Transactional
  public RotatedKey rotateKey(Actor actor, UUID clusterId, UUID keyId, Duration grace) {
    actor.requireAdmin();
    get(actor, clusterId);
    record Old(String name, Instant expiresAt, Instant revokedAt) {}
    Old old =
        db.one(
                "select name, expires_at, revoked_at from cluster_api_keys where id = ? and cluster_id = ? for update",
                rs ->
                    new Old(
                        rs.getString("name"),
                        Db.instant(rs, "expires_at"),
                        Db.instant(rs, "revoked_at")),
                keyId,
                clusterId)
            .orElseThrow(() -> ApiException.notFound("cluster key", keyId));
    Instant now = clock.instant();
    if (old.revokedAt() != null || (old.expiresAt() != null && !old.expiresAt().isAfter(now))) {
      throw ApiException.conflict("cluster key " + keyId + " is already revoked or expired");
    }
    Instant oldExpires = now.plus(grace);
    if (old.expiresAt() != null && old.expiresAt().isBefore(oldExpires)) {
      oldExpires = old.expiresAt(); // a rotation never extends an earlier deadline
    }
    db.update("update cluster_api_keys set expires_at = ? where id = ?", oldExpires, keyId);
    CreatedKey fresh = insertKey(clusterId, old.name());
    audit.append(
        actor,
        "cluster.key.rotate",
        "cluster-key",
        keyId.toString(),
        clusterId,
        Map.of("id", keyId.toString()),
        Map.of(
            "newKeyId",
            fresh.id().toString(),
            "prefix",
            fresh.prefix(),
            "previousKeyExpiresAt",
            oldExpires.toString()));
    return new RotatedKey(fresh, keyId, oldExpires);
  }

  @Transactional
  public void revokeKey(Actor actor, UUID clusterId, UUID keyId) {
    actor.requireAdmin();
    get(actor, clusterId);
    int n =
        db.update(
            "update cluster_api_keys set revoked_at = coalesce(revoked_at, ?) where id = ? and cluster_id = ?",
            clock.instant(),
            keyId,
            clusterId);
    if (n == 0) {
      throw ApiException.notFound("cluster key", keyId);
    }
    audit.append(
        actor, "cluster.key.revoke", "cluster-key", keyId.toString(), clusterId, null, null);
  }

  private CreatedKey insertKey(UUID clusterId, String name) {
    String key = Tokens.generate(ClusterKeyVerifier.KIND);
    UUID id = UUID.randomUUID();
    Instant now = clock.instant();
    db.update(
        "insert into cluster_api_keys (id, cluster_id, name, prefix, key_hash, created_at) values (?, ?, ?, ?, ?, ?)",
        id,
        clusterId,
        name,
        Tokens.prefix(key),
        Tokens.sha256Hex(key),
        now);
    return new CreatedKey(id, name, Tokens.prefix(key), key, now);
  }
}
