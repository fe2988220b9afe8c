package io.marchproxy.api.certificates;

import io.marchproxy.api.audit.AuditLog;
import io.marchproxy.api.auth.Actor;
import io.marchproxy.api.paging.Page;
import io.marchproxy.api.paging.PageRequest;
import io.marchproxy.api.problem.ApiException;
import io.marchproxy.api.problem.ETags;
import io.marchproxy.api.revisions.RevisionWriter;
import io.marchproxy.core.crypto.Sealed;
import io.marchproxy.core.crypto.SecretBox;
import io.marchproxy.core.db.Db;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.transaction.annotation.Transactional;
import jakarta.inject.Singleton;
import java.security.PrivateKey;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.UUID;

/**
 * TLS certificates of a cluster. The chain is public and stored as PEM; the private key is sealed
 * with {@link SecretBox} under the context {@code certificate:<id>}, which xds-service uses to open
 * it. Every write locks the cluster, audits metadata only and commits a config revision.
 */
@Singleton
public class CertificateService {

  public static final int MAX_DAYS = 3650;

  private final Db db;
  private final AuditLog audit;
  private final RevisionWriter revisions;
  private final SecretBox box;
  private final Clock clock;

  CertificateService(Db db, AuditLog audit, RevisionWriter revisions, SecretBox box, Clock clock) {
    this.db = db;
    this.audit = audit;
    this.revisions = revisions;
    this.box = box;
    this.clock = clock;
  }

  /** The SecretBox context of a certificate's key: a key sealed for one id opens for no other. */
  public static String keyContext(UUID certificateId) {
    return "certificate:" + certificateId;
  }

  @Transactional
  public CertificateView create(Actor actor, UUID clusterId, CertificateRequest request) {
    actor.requireWrite(clusterId);
    CertificateRequest.Upload upload = request.validate(clock.instant(), true);
    lockCluster(clusterId);
    requireUniqueName(clusterId, upload.name(), null);
    UUID id = UUID.randomUUID();
    CertificateChain chain = upload.chain();
    Sealed key = seal(id, upload.key());
    db.update(
        "insert into certificates (id, cluster_id, name, source, subject, issuer, sans, serial,"
            + " fingerprint_sha256, key_type, not_before, not_after, chain_pem, key_ciphertext,"
            + " key_wrapped_key, key_kek) values (?, ?, ?, 'upload', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,"
            + " ?, ?)",
        id,
        clusterId,
        upload.name(),
        chain.subject(),
        chain.issuer(),
        chain.sans(),
        chain.serial(),
        chain.fingerprintSha256(),
        chain.keyType(),
        chain.notBefore(),
        chain.notAfter(),
        chain.pem(),
        key.ciphertext(),
        key.wrappedKey(),
        key.kekId());
    CertificateView created = find(clusterId, id, false).orElseThrow();
    audit.append(
        actor, "certificate.create", "certificate", id.toString(), clusterId, null, created);
    revisions.commit(clusterId, actor.auditName(), "certificate " + upload.name() + " uploaded");
    return created;
  }

  /**
   * Replaces the certificate (renewal) and, when given, its key. Without a new key the new leaf
   * must belong to the stored one, as when a CA renews a certificate for the same key.
   */
  @Transactional
  public CertificateView replace(
      Actor actor,
      UUID clusterId,
      UUID id,
      @Nullable Long expectedVersion,
      CertificateRequest request) {
    actor.requireWrite(clusterId);
    CertificateRequest.Upload upload = request.validate(clock.instant(), false);
    lockCluster(clusterId);
    CertificateView before = requireCurrent(clusterId, id, expectedVersion);
    requireUniqueName(clusterId, upload.name(), id);
    CertificateChain chain = upload.chain();
    PrivateKey stored = storedKey(id);
    PrivateKey key = upload.key() == null ? stored : upload.key();
    if (upload.key() == null && !chain.matches(stored)) {
      throw ApiException.invalid(
          PrivateKeyPem.FIELD,
          "is required: the new certificate does not belong to the stored private key");
    }
    boolean unchanged =
        before.name().equals(upload.name())
            && before.fingerprintSha256().equals(chain.fingerprintSha256())
            && chain.pem().equals(chainPem(id))
            && Arrays.equals(stored.getEncoded(), key.getEncoded());
    if (unchanged) {
      return before;
    }
    Sealed sealed = seal(id, key);
    db.update(
        "update certificates set name = ?, source = 'upload', source_ref = null, subject = ?,"
            + " issuer = ?, sans = ?, serial = ?, fingerprint_sha256 = ?, key_type = ?,"
            + " not_before = ?, not_after = ?, chain_pem = ?, key_ciphertext = ?,"
            + " key_wrapped_key = ?, key_kek = ?, version = version + 1, updated_at = now()"
            + " where id = ?",
        upload.name(),
        chain.subject(),
        chain.issuer(),
        chain.sans(),
        chain.serial(),
        chain.fingerprintSha256(),
        chain.keyType(),
        chain.notBefore(),
        chain.notAfter(),
        chain.pem(),
        sealed.ciphertext(),
        sealed.wrappedKey(),
        sealed.kekId(),
        id);
    CertificateView after = find(clusterId, id, false).orElseThrow();
    audit.append(
        actor, "certificate.update", "certificate", id.toString(), clusterId, before, after);
    revisions.commit(clusterId, actor.auditName(), "certificate " + upload.name() + " replaced");
    return after;
  }

  @Transactional
  public void delete(Actor actor, UUID clusterId, UUID id, @Nullable Long expectedVersion) {
    actor.requireWrite(clusterId);
    lockCluster(clusterId);
    CertificateView before = requireCurrent(clusterId, id, expectedVersion);
    // Routes and mappings do not name certificates yet. When they do, refuse here (409) and name
    // them, as services do for the routes that use them.
    db.update("delete from certificates where id = ?", id);
    audit.append(
        actor, "certificate.delete", "certificate", id.toString(), clusterId, before, null);
    revisions.commit(clusterId, actor.auditName(), "certificate " + before.name() + " deleted");
  }

  /** Metadata and the public chain. */
  @Transactional
  public CertificateView get(Actor actor, UUID clusterId, UUID id) {
    actor.requireRead(clusterId);
    requireCluster(clusterId);
    return find(clusterId, id, true).orElseThrow(() -> ApiException.notFound("certificate", id));
  }

  /** By name; with {@code expiringWithinDays}, only those ending by then (expired ones too). */
  @Transactional
  public Page<CertificateView> list(
      Actor actor, UUID clusterId, PageRequest page, @Nullable Integer expiringWithinDays) {
    actor.requireRead(clusterId);
    requireCluster(clusterId);
    Instant now = clock.instant();
    var params = new ArrayList<Object>(List.of(clusterId, page.after()));
    String filter = "";
    if (expiringWithinDays != null) {
      filter = " and not_after <= ?";
      params.add(now.plus(Duration.ofDays(expiringWithinDays)));
    }
    params.add(page.fetch());
    List<CertificateView> rows =
        db.list(
            "select "
                + CertificateView.COLUMNS
                + " from certificates where cluster_id = ? and name > ?"
                + filter
                + " order by name limit ?",
            rs -> CertificateView.map(rs, now, false),
            params.toArray());
    return Page.of(rows, page, CertificateView::name);
  }

  /**
   * Every certificate the caller may see, in any cluster, ending within {@code days} (expired ones
   * first): what an operator renews next. Ordered by end date; the cursor is (not_after, id).
   */
  @Transactional
  public Page<CertificateView> expiring(Actor actor, int days, PageRequest page) {
    Instant now = clock.instant();
    var params = new ArrayList<Object>();
    var sql =
        new StringBuilder(
            "select " + CertificateView.COLUMNS + " from certificates where not_after <= ?");
    params.add(now.plus(Duration.ofDays(days)));
    if (actor.allowedClusters() != null) {
      sql.append(" and cluster_id = any(?::uuid[])");
      params.add(new ArrayList<>(actor.allowedClusters()));
    }
    if (!page.after().isEmpty()) {
      Cursor after = Cursor.parse(page.after());
      sql.append(" and (not_after, id) > (?, ?)");
      params.add(after.notAfter());
      params.add(after.id());
    }
    sql.append(" order by not_after, id limit ?");
    params.add(page.fetch());
    List<CertificateView> rows =
        db
            .list(sql.toString(), rs -> CertificateView.map(rs, now, false), params.toArray())
            .stream()
            .filter(c -> actor.canSee(c.clusterId()))
            .toList();
    return Page.of(rows, page, c -> c.notAfter() + "|" + c.id());
  }

  private record Cursor(Instant notAfter, UUID id) {
    static Cursor parse(String text) {
      int bar = text.indexOf('|');
      try {
        return new Cursor(
            Instant.parse(text.substring(0, bar)), UUID.fromString(text.substring(bar + 1)));
      } catch (DateTimeParseException | IllegalArgumentException | IndexOutOfBoundsException e) {
        throw ApiException.invalid("cursor", "is not a cursor this API returned");
      }
    }
  }

  /** Writers of one cluster go one at a time; the name check below relies on it. */
  private void lockCluster(UUID clusterId) {
    db.one("select id from clusters where id = ? for update", rs -> 1, clusterId)
        .orElseThrow(() -> ApiException.notFound("cluster", clusterId));
  }

  private void requireCluster(UUID clusterId) {
    db.one("select 1 from clusters where id = ?", rs -> 1, clusterId)
        .orElseThrow(() -> ApiException.notFound("cluster", clusterId));
  }

  private CertificateView requireCurrent(UUID clusterId, UUID id, @Nullable Long expectedVersion) {
    CertificateView current =
        find(clusterId, id, false).orElseThrow(() -> ApiException.notFound("certificate", id));
    ETags.requireMatch(expectedVersion, current.version(), "certificate " + current.name());
    return current;
  }

  private void requireUniqueName(UUID clusterId, String name, @Nullable UUID self) {
    boolean taken =
        db.one(
                "select 1 from certificates where cluster_id = ? and name = ?"
                    + " and (?::uuid is null or id <> ?::uuid)",
                rs -> 1,
                clusterId,
                name,
                self,
                self)
            .isPresent();
    if (taken) {
      throw ApiException.conflict(
          "a certificate named '" + name + "' already exists in this cluster");
    }
  }

  private Optional<CertificateView> find(UUID clusterId, UUID id, boolean withChain) {
    Instant now = clock.instant();
    return db.one(
        "select "
            + CertificateView.COLUMNS
            + (withChain ? ", chain_pem" : "")
            + " from certificates where cluster_id = ? and id = ?",
        rs -> CertificateView.map(rs, now, withChain),
        clusterId,
        id);
  }

  private String chainPem(UUID id) {
    return db.one("select chain_pem from certificates where id = ?", rs -> rs.getString(1), id)
        .orElseThrow();
  }

  private Sealed seal(UUID id, PrivateKey key) {
    byte[] pem = PrivateKeyPem.encode(key);
    try {
      return box.seal(pem, keyContext(id));
    } finally {
      Arrays.fill(pem, (byte) 0);
    }
  }

  private PrivateKey storedKey(UUID id) {
    Sealed sealed =
        db.one(
                "select key_ciphertext, key_wrapped_key, key_kek from certificates where id = ?",
                rs -> new Sealed(rs.getBytes(1), rs.getBytes(2), rs.getString(3)),
                id)
            .orElseThrow();
    byte[] pem = box.open(sealed, keyContext(id));
    try {
      return PrivateKeyPem.decode(pem);
    } finally {
      Arrays.fill(pem, (byte) 0);
    }
  }
}
