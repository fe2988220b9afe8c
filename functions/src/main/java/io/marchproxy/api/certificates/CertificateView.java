package io.marchproxy.api.certificates;

import io.marchproxy.core.db.Db;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.serde.annotation.Serdeable;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.UUID;

/**
 * A certificate as the API shows it: metadata, and the public chain only where one certificate is
 * read. The private key is not a field of this record, so no response or audit event can carry it.
 */
@Serdeable
public record CertificateView(
    UUID id,
    UUID clusterId,
    String name,
    String source,
    @Nullable String sourceRef,
    String subject,
    String issuer,
    List<String> sans,
    String serial,
    String fingerprintSha256,
    String keyType,
    Instant notBefore,
    Instant notAfter,
    String status,
    long version,
    Instant createdAt,
    Instant updatedAt,
    @Nullable String chainPem) {

  /** Within this of its end a certificate shows as {@code expiring}. */
  public static final Duration EXPIRING_SOON = Duration.ofDays(30);

  static final String COLUMNS =
      "id, cluster_id, name, source, source_ref, subject, issuer, sans, serial, fingerprint_sha256,"
          + " key_type, not_before, not_after, version, created_at, updated_at";

  static CertificateView map(ResultSet rs, Instant now, boolean withChain) throws SQLException {
    Instant notBefore = Db.instant(rs, "not_before");
    Instant notAfter = Db.instant(rs, "not_after");
    return new CertificateView(
        Db.uuid(rs, "id"),
        Db.uuid(rs, "cluster_id"),
        rs.getString("name"),
        rs.getString("source"),
        rs.getString("source_ref"),
        rs.getString("subject"),
        rs.getString("issuer"),
        Db.strings(rs, "sans"),
        rs.getString("serial"),
        rs.getString("fingerprint_sha256"),
        rs.getString("key_type"),
        notBefore,
        notAfter,
        status(notBefore, notAfter, now),
        rs.getLong("version"),
        Db.instant(rs, "created_at"),
        Db.instant(rs, "updated_at"),
        withChain ? rs.getString("chain_pem") : null);
  }

  /** What an operator needs to act on: valid, expiring (within 30 days), expired, not yet valid. */
  static String status(Instant notBefore, Instant notAfter, Instant now) {
    if (!now.isBefore(notAfter)) {
      return "expired";
    }
    if (now.isBefore(notBefore)) {
      return "not-yet-valid";
    }
    return notAfter.isAfter(now.plus(EXPIRING_SOON)) ? "valid" : "expiring";
  }
}
