package io.marchproxy.api.proxies;

import io.marchproxy.api.audit.AuditLog;
import io.marchproxy.api.auth.Actor;
import io.marchproxy.api.license.LicenseService;
import io.marchproxy.api.paging.Page;
import io.marchproxy.api.paging.PageRequest;
import io.marchproxy.api.problem.ApiException;
import io.marchproxy.core.clusters.ClusterKeyVerifier;
import io.marchproxy.core.config.ClusterConfigRenderer;
import io.marchproxy.core.db.Db;
import io.micronaut.context.annotation.Value;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.scheduling.annotation.Scheduled;
import io.micronaut.transaction.annotation.Transactional;
import jakarta.inject.Singleton;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;

/**
 * Proxies register with their cluster's API key, then heartbeat. A proxy id is bound to its
 * cluster: another cluster's key cannot see or touch it.
 */
@Singleton
public class ProxyService {

  private final Db db;
  private final ClusterKeyVerifier keys;
  private final LicenseService license;
  private final AuditLog audit;
  private final ClusterConfigRenderer json;
  private final Clock clock;
  private final long staleSeconds;
  private final long offlineSeconds;

  ProxyService(
      Db db,
      ClusterKeyVerifier keys,
      LicenseService license,
      AuditLog audit,
      ClusterConfigRenderer json,
      Clock clock,
      @Value("${marchproxy.proxies.stale-after:60s}") Duration staleAfter,
      @Value("${marchproxy.proxies.offline-after:5m}") Duration offlineAfter) {
    this.db = db;
    this.keys = keys;
    this.license = license;
    this.audit = audit;
    this.json = json;
    this.clock = clock;
    this.staleSeconds = staleAfter.toSeconds();
    this.offlineSeconds = offlineAfter.toSeconds();
  }

  private String columns() {
    return ProxyView.columns(staleSeconds, offlineSeconds);
  }

  /** The cluster of a key, or 401. */
  @Transactional
  public UUID clusterOfKey(@Nullable String key) {
    if (key == null || key.isBlank()) {
      throw ApiException.unauthorized("a cluster API key is required (header X-Cluster-Key)");
    }
    return keys.clusterOf(key.trim())
        .orElseThrow(
            () -> ApiException.unauthorized("cluster API key unknown, expired or revoked"));
  }

  /** Registers (or re-registers, keeping its id) a proxy; new ones count against the license. */
  @Transactional
  public ProxyView register(String clusterKey, RegisterRequest req, String source) {
    req.validate();
    UUID clusterId = clusterOfKey(clusterKey);
    Optional<ProxyView> existing =
        db.one(
            "select " + columns() + " from proxies where cluster_id = ? and name = ? for update",
            rs -> ProxyView.map(rs, json),
            clusterId,
            req.name());
    if (existing.isPresent() && !existing.get().kind().equals(req.kind())) {
      throw ApiException.conflict(
          "proxy '"
              + req.name()
              + "' is registered as "
              + existing.get().kind()
              + ", not "
              + req.kind());
    }
    if (existing.isEmpty() || existing.get().status().equals("offline")) {
      license.requireProxyCapacity();
    }
    UUID id = existing.map(ProxyView::id).orElseGet(UUID::randomUUID);
    db.update(
        """
        insert into proxies (id, cluster_id, name, kind, hostname, region, zone, software_version, status, last_seen_at)
        values (?, ?, ?, ?, ?, ?, ?, ?, 'online', ?)
        on conflict (id) do update set hostname = excluded.hostname, region = excluded.region, zone = excluded.zone,
          software_version = excluded.software_version, status = 'online', last_seen_at = excluded.last_seen_at
        """,
        id,
        clusterId,
        req.name(),
        req.kind(),
        nz(req.hostname()),
        nz(req.region()),
        nz(req.zone()),
        nz(req.version()),
        clock.instant());
    ProxyView view = find(clusterId, id).orElseThrow();
    if (existing.isEmpty()) {
      audit.append(
          "proxy " + req.name(),
          source,
          "proxy.register",
          "proxy",
          id.toString(),
          clusterId,
          null,
          view);
    }
    return view;
  }

  @Transactional
  public ProxyView heartbeat(String clusterKey, UUID id, @Nullable Long appliedRevision) {
    UUID clusterId = clusterOfKey(clusterKey);
    int n =
        db.update(
            "update proxies set last_seen_at = ?, status = 'online', applied_revision = coalesce(?, applied_revision)"
                + " where id = ? and cluster_id = ?",
            clock.instant(),
            appliedRevision,
            id,
            clusterId);
    if (n == 0) {
      throw ApiException.notFound(
          "proxy", id); // also for another cluster's proxy: do not reveal it
    }
    return find(clusterId, id).orElseThrow();
  }

  @Transactional
  public ProxyView get(Actor actor, UUID id) {
    ProxyView p =
        db.one(
                "select " + columns() + " from proxies where id = ?",
                rs -> ProxyView.map(rs, json),
                id)
            .orElseThrow(() -> ApiException.notFound("proxy", id));
    if (!actor.canSee(p.clusterId())) {
      throw ApiException.notFound("proxy", id);
    }
    return p;
  }

  @Transactional
  public Page<ProxyView> list(
      Actor actor, @Nullable UUID clusterId, @Nullable String status, PageRequest page) {
    if (clusterId != null) {
      actor.requireRead(clusterId);
    }
    List<UUID> allowed =
        actor.allowedClusters() == null ? null : new ArrayList<>(actor.allowedClusters());
    // Sorted by (name, id): names repeat across clusters. The cursor is "name/id".
    int slash = page.after().indexOf('/');
    String afterName = slash < 0 ? page.after() : page.after().substring(0, slash);
    String afterId = slash < 0 ? "" : page.after().substring(slash + 1);
    List<ProxyView> rows =
        db.list(
            "select * from (select "
                + columns()
                + " from proxies) p where (name, id::text) > (?, ?)"
                + " and (?::uuid is null or cluster_id = ?::uuid) and (?::uuid[] is null or cluster_id = any(?::uuid[]))"
                + " and (?::text is null or live_status = ?::text)"
                + " order by name, id limit ?",
            rs -> ProxyView.map(rs, json),
            afterName,
            afterId,
            clusterId,
            clusterId,
            allowed,
            allowed,
            status,
            status,
            page.fetch());
    return Page.of(rows, page, p -> p.name() + "/" + p.id());
  }

  @Transactional
  public void delete(Actor actor, UUID id) {
    ProxyView p = get(actor, id);
    actor.requireWrite(p.clusterId());
    db.update("delete from proxies where id = ?", id);
    audit.append(actor, "proxy.delete", "proxy", id.toString(), p.clusterId(), p, null);
  }

  /** Keeps the stored status column current for components that read it (metrics, xds-service). */
  @Scheduled(fixedDelay = "${marchproxy.proxies.sweep-interval:15s}", initialDelay = "5s")
  @Transactional
  void sweep() {
    db.update(
        "update proxies p set status = s.live_status from (select id, "
            + columns().substring(columns().indexOf("case"))
            + " from proxies) s where p.id = s.id and p.status <> s.live_status");
  }

  private Optional<ProxyView> find(UUID clusterId, UUID id) {
    return db.one(
        "select " + columns() + " from proxies where id = ? and cluster_id = ?",
        rs -> ProxyView.map(rs, json),
        id,
        clusterId);
  }

  private static String nz(String s) {
    return s == null ? "" : s;
  }
}
