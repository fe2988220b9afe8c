package io.marchproxy.api.revisions;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.marchproxy.api.audit.AuditLog;
import io.marchproxy.api.auth.Actor;
import io.marchproxy.api.desiredstate.SpecStore;
import io.marchproxy.api.paging.Page;
import io.marchproxy.api.problem.ApiException;
import io.marchproxy.core.config.ClusterConfig;
import io.marchproxy.core.config.ClusterConfigRenderer;
import io.marchproxy.core.db.Db;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.serde.annotation.Serdeable;
import io.micronaut.transaction.annotation.Transactional;
import jakarta.inject.Singleton;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.function.Function;
import java.util.stream.Collectors;

/** Reading the revision history, comparing revisions, and rolling back. */
@Singleton
public class RevisionService {

  @Serdeable
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record RevisionSummary(
      long revision,
      String contentHash,
      Instant createdAt,
      @Nullable String createdBy,
      String reason,
      List<Publication> publications) {}

  @Serdeable
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record Revision(
      long revision,
      String contentHash,
      Instant createdAt,
      @Nullable String createdBy,
      String reason,
      ClusterConfig document,
      List<Publication> publications) {}

  /**
   * What xds-service made of a revision for one data-plane kind: {@code published}, or {@code
   * failed} with the problems that kept the proxies on their last good configuration.
   */
  @Serdeable
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record Publication(String dataPlane, String state, List<Problem> problems, Instant at) {}

  @Serdeable
  public record Problem(String resourceType, String name, String message) {}

  /** What changed between two revisions, per kind: names added, removed and changed. */
  @Serdeable
  public record Diff(long from, long to, Map<String, KindDiff> changes) {}

  @Serdeable
  public record KindDiff(List<String> added, List<String> removed, List<String> changed) {}

  private final Db db;
  private final ClusterConfigRenderer renderer;
  private final RevisionWriter writer;
  private final SpecStore store;
  private final AuditLog audit;

  RevisionService(
      Db db,
      ClusterConfigRenderer renderer,
      RevisionWriter writer,
      SpecStore store,
      AuditLog audit) {
    this.db = db;
    this.renderer = renderer;
    this.writer = writer;
    this.store = store;
    this.audit = audit;
  }

  @Transactional
  public Page<RevisionSummary> list(Actor actor, UUID clusterId, int limit, @Nullable Long before) {
    requireCluster(actor, clusterId);
    List<RevisionSummary> rows =
        db.list(
            "select revision, content_hash, created_at, created_by, reason from config_revisions"
                + " where cluster_id = ? and revision < ? order by revision desc limit ?",
            rs ->
                new RevisionSummary(
                    rs.getLong("revision"),
                    rs.getString("content_hash"),
                    Db.instant(rs, "created_at"),
                    rs.getString("created_by"),
                    rs.getString("reason"),
                    List.of()),
            clusterId,
            before == null ? Long.MAX_VALUE : before,
            limit + 1);
    List<RevisionSummary> page = rows.size() <= limit ? rows : rows.subList(0, limit);
    Map<Long, List<Publication>> published =
        publications(clusterId, page.stream().map(RevisionSummary::revision).toList());
    List<RevisionSummary> items =
        page.stream()
            .map(
                r ->
                    new RevisionSummary(
                        r.revision(),
                        r.contentHash(),
                        r.createdAt(),
                        r.createdBy(),
                        r.reason(),
                        published.getOrDefault(r.revision(), List.of())))
            .toList();
    return new Page<>(
        items, rows.size() <= limit ? null : String.valueOf(items.getLast().revision()));
  }

  private Map<Long, List<Publication>> publications(UUID clusterId, List<Long> revisions) {
    if (revisions.isEmpty()) {
      return Map.of();
    }
    record Row(long revision, Publication publication) {}
    return db
        .list(
            "select revision, data_plane, state, problems, at from revision_publications"
                + " where cluster_id = ? and revision = any(?::bigint[]) order by revision, data_plane",
            rs ->
                new Row(
                    rs.getLong("revision"),
                    new Publication(
                        rs.getString("data_plane"),
                        rs.getString("state"),
                        List.of(renderer.parse(rs.getString("problems"), Problem[].class)),
                        Db.instant(rs, "at"))),
            clusterId,
            revisions.toArray(Long[]::new))
        .stream()
        .collect(
            Collectors.groupingBy(
                Row::revision,
                TreeMap::new,
                Collectors.mapping(Row::publication, Collectors.toList())));
  }

  @Transactional
  public Revision get(Actor actor, UUID clusterId, long revision) {
    requireCluster(actor, clusterId);
    return db.one(
            "select revision, content_hash, created_at, created_by, reason, document from config_revisions"
                + " where cluster_id = ? and revision = ?",
            rs ->
                new Revision(
                    rs.getLong("revision"),
                    rs.getString("content_hash"),
                    Db.instant(rs, "created_at"),
                    rs.getString("created_by"),
                    rs.getString("reason"),
                    renderer.read(rs.getString("document")),
                    List.of()),
            clusterId,
            revision)
        .map(
            r ->
                new Revision(
                    r.revision(),
                    r.contentHash(),
                    r.createdAt(),
                    r.createdBy(),
                    r.reason(),
                    r.document(),
                    publications(clusterId, List.of(revision)).getOrDefault(revision, List.of())))
        .orElseThrow(() -> ApiException.notFound("revision", revision));
  }

  @Transactional
  public Diff diff(Actor actor, UUID clusterId, long from, long to) {
    ClusterConfig a = get(actor, clusterId, from).document();
    ClusterConfig b = get(actor, clusterId, to).document();
    Map<String, KindDiff> changes = new TreeMap<>();
    changes.put("services", diff(a.services(), b.services(), ClusterConfig.Service::name));
    changes.put("routes", diff(a.routes(), b.routes(), ClusterConfig.Route::name));
    changes.put("mappings", diff(a.mappings(), b.mappings(), ClusterConfig.Mapping::name));
    changes.put(
        "certificates", diff(a.certificates(), b.certificates(), ClusterConfig.Certificate::name));
    return new Diff(from, to, changes);
  }

  private <T> KindDiff diff(List<T> before, List<T> after, Function<T, String> name) {
    Map<String, String> a = before.stream().collect(Collectors.toMap(name, renderer::toJson));
    Map<String, String> b = after.stream().collect(Collectors.toMap(name, renderer::toJson));
    List<String> added = b.keySet().stream().filter(k -> !a.containsKey(k)).sorted().toList();
    List<String> removed = a.keySet().stream().filter(k -> !b.containsKey(k)).sorted().toList();
    List<String> changed =
        a.keySet().stream()
            .filter(k -> b.containsKey(k) && !a.get(k).equals(b.get(k)))
            .sorted()
            .toList();
    return new KindDiff(added, removed, changed);
  }

  /**
   * Restores the services, routes and mappings of {@code revision} and records that as a new
   * revision. Credentials and certificates are not restored (their secrets are not in documents); a
   * service that no longer exists comes back without credentials.
   */
  @Transactional
  public RevisionSummary rollback(Actor actor, UUID clusterId, long revision) {
    store.lockCluster(actor, clusterId);
    ClusterConfig target = get(actor, clusterId, revision).document();
    restore(
        "services",
        target.services(),
        s -> s.id(),
        s -> new Object[] {s.id(), clusterId, s.name(), s.protocol(), renderer.toJson(s.spec())},
        "insert into services (id, cluster_id, name, protocol, spec) values (?, ?, ?, ?, ?::jsonb)"
            + " on conflict (id) do update set name = excluded.name, protocol = excluded.protocol, spec = excluded.spec,"
            + " version = services.version + 1, updated_at = now()"
            + " where services.spec is distinct from excluded.spec or services.name <> excluded.name"
            + " or services.protocol <> excluded.protocol",
        clusterId);
    restore(
        "routes",
        target.routes(),
        r -> r.id(),
        r -> new Object[] {r.id(), clusterId, r.name(), renderer.toJson(r.spec())},
        "insert into routes (id, cluster_id, name, spec) values (?, ?, ?, ?::jsonb)"
            + " on conflict (id) do update set name = excluded.name, spec = excluded.spec,"
            + " version = routes.version + 1, updated_at = now()"
            + " where routes.spec is distinct from excluded.spec or routes.name <> excluded.name",
        clusterId);
    restore(
        "mappings",
        target.mappings(),
        m -> m.id(),
        m ->
            new Object[] {
              m.id(), clusterId, m.name(), m.protocol(), m.listenPort(), renderer.toJson(m.spec())
            },
        "insert into mappings (id, cluster_id, name, protocol, listen_port, spec) values (?, ?, ?, ?, ?, ?::jsonb)"
            + " on conflict (id) do update set name = excluded.name, protocol = excluded.protocol,"
            + " listen_port = excluded.listen_port, spec = excluded.spec, version = mappings.version + 1, updated_at = now()"
            + " where mappings.spec is distinct from excluded.spec or mappings.name <> excluded.name"
            + " or mappings.protocol <> excluded.protocol or mappings.listen_port <> excluded.listen_port",
        clusterId);
    Optional<Long> created =
        writer.commit(clusterId, actor.auditName(), "rollback to revision " + revision);
    long current =
        created.orElseGet(
            () ->
                db.one(
                        "select current_revision from clusters where id = ?",
                        rs -> rs.getLong(1),
                        clusterId)
                    .orElseThrow());
    audit.append(
        actor,
        "revision.rollback",
        "cluster",
        clusterId.toString(),
        clusterId,
        Map.of("revision", revision),
        Map.of("revision", current));
    return list(actor, clusterId, 1, current + 1).items().getFirst();
  }

  /** Deletes rows not in the target (children first), then upserts the target's rows by id. */
  private <T> void restore(
      String table,
      List<T> target,
      Function<T, UUID> id,
      Function<T, Object[]> params,
      String upsert,
      UUID clusterId) {
    Set<UUID> keep = target.stream().map(id).collect(Collectors.toSet());
    List<UUID> existing =
        db.list(
            "select id from " + table + " where cluster_id = ?",
            rs -> Db.uuid(rs, "id"),
            clusterId);
    List<UUID> remove = new ArrayList<>(existing);
    remove.removeAll(keep);
    if (!remove.isEmpty()) {
      db.update("delete from " + table + " where id = any(?)", remove);
    }
    // Rows not in the target are gone by now, so target names and ports are free again.
    for (T row : target) {
      db.update(upsert, params.apply(row));
    }
  }

  private void requireCluster(Actor actor, UUID clusterId) {
    actor.requireRead(clusterId);
    if (db.one("select 1 from clusters where id = ?", rs -> 1, clusterId).isEmpty()) {
      throw ApiException.notFound("cluster", clusterId);
    }
  }
}
