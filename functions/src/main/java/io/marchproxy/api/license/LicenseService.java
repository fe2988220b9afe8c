package io.marchproxy.api.license;

import io.marchproxy.api.audit.AuditLog;
import io.marchproxy.api.auth.Actor;
import io.marchproxy.api.problem.ApiException;
import io.marchproxy.core.db.Db;
import io.marchproxy.core.license.License;
import io.marchproxy.core.license.LicenseVerifier;
import io.micronaut.serde.annotation.Serdeable;
import io.micronaut.transaction.annotation.Transactional;
import jakarta.inject.Singleton;
import java.util.Optional;

/** The installed license, what it allows, and the limit checks every write path uses. */
@Singleton
public class LicenseService {

  @Serdeable
  public record Usage(long proxies, long clusters) {}

  @Serdeable
  public record LicenseView(License license, Usage usage) {}

  private final Db db;
  private final LicenseVerifier verifier;
  private final AuditLog audit;

  private final java.time.Duration offlineAfter;

  LicenseService(
      Db db,
      LicenseVerifier verifier,
      AuditLog audit,
      @io.micronaut.context.annotation.Value("${marchproxy.proxies.offline-after:5m}")
          java.time.Duration offlineAfter) {
    this.offlineAfter = offlineAfter;
    this.db = db;
    this.verifier = verifier;
    this.audit = audit;
  }

  @Transactional
  public License current() {
    Optional<String> key = db.one("select token from license where id = 1", rs -> rs.getString(1));
    return verifier.effective(key.orElse(null));
  }

  @Transactional
  public LicenseView view() {
    return new LicenseView(current(), usage());
  }

  @Transactional
  public Usage usage() {
    return new Usage(
        db.one(
                "select count(*) from proxies where last_seen_at > now() - cast(? as interval)",
                rs -> rs.getLong(1),
                offlineAfter.toSeconds() + " seconds")
            .orElse(0L),
        db.one("select count(*) from clusters", rs -> rs.getLong(1)).orElse(0L));
  }

  @Transactional
  public LicenseView install(Actor actor, String key) {
    actor.requireAdmin();
    try {
      verifier.verify(key);
    } catch (LicenseVerifier.InvalidLicenseException e) {
      throw ApiException.invalid("key", e.getMessage());
    }
    License before = current();
    db.update(
        "insert into license (id, token, installed_by) values (1, ?, ?)"
            + " on conflict (id) do update set token = excluded.token, installed_at = now(),"
            + " installed_by = excluded.installed_by",
        key.trim(),
        actor.username());
    License after = current();
    audit.append(actor, "license.install", "license", "1", null, before, after);
    return new LicenseView(after, usage());
  }

  /**
   * Call inside the transaction that adds a cluster; the lock makes concurrent adds count right.
   */
  @Transactional
  public void requireClusterCapacity() {
    db.one("select pg_advisory_xact_lock(7231002)", rs -> 1);
    License l = current();
    long clusters = usage().clusters();
    if (clusters >= l.maxClusters()) {
      throw ApiException.licenseLimit(
          "maxClusters",
          "the "
              + l.edition()
              + " license allows "
              + l.maxClusters()
              + " cluster(s); "
              + clusters
              + " exist. Install a license that allows more.");
    }
  }

  /** Call inside the transaction that registers a proxy. */
  @Transactional
  public void requireProxyCapacity() {
    db.one("select pg_advisory_xact_lock(7231003)", rs -> 1);
    License l = current();
    long proxies = usage().proxies();
    if (proxies >= l.maxProxies()) {
      throw ApiException.licenseLimit(
          "maxProxies",
          "the "
              + l.edition()
              + " license allows "
              + l.maxProxies()
              + " proxies; "
              + proxies
              + " are registered and not offline. Install a license that allows more,"
              + " or delete proxies that are gone.");
    }
  }
}
