package io.marchproxy.api.desiredstate;

import io.marchproxy.api.audit.AuditLog;
import io.marchproxy.api.auth.Actor;
import io.marchproxy.api.paging.Page;
import io.marchproxy.api.paging.PageRequest;
import io.marchproxy.api.problem.ApiException;
import io.marchproxy.api.problem.ETags;
import io.marchproxy.api.revisions.RevisionWriter;
import io.marchproxy.core.db.Db;
import io.micronaut.transaction.annotation.Transactional;
import jakarta.inject.Singleton;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.function.Function;

/**
 * The write path every desired-state resource shares (services, routes, mappings): one transaction
 * that locks the cluster, checks If-Match, writes the row, appends the audit event and commits a
 * new revision. Typed services validate before calling it.
 */
@Singleton
public class SpecStore {

  /** A table of cluster-scoped resources: name, spec (jsonb), plus typed columns. */
  public record Kind(String table, String noun, List<String> columns) {
    String selectColumns() {
      var all = new ArrayList<>(List.of("id", "cluster_id", "name"));
      all.addAll(columns);
      all.addAll(List.of("spec::text as spec", "version", "created_at", "updated_at"));
      return String.join(", ", all);
    }
  }

  private final Db db;
  private final AuditLog audit;
  private final RevisionWriter revisions;

  SpecStore(Db db, AuditLog audit, RevisionWriter revisions) {
    this.db = db;
    this.audit = audit;
    this.revisions = revisions;
  }

  /** Locks the cluster (writers of one cluster go one at a time) and checks the actor may write. */
  @Transactional
  public void lockCluster(Actor actor, UUID clusterId) {
    actor.requireWrite(clusterId);
    db.one("select id from clusters where id = ? for update", rs -> 1, clusterId)
        .orElseThrow(() -> ApiException.notFound("cluster", clusterId));
  }

  @Transactional
  public <V> V create(
      Actor actor,
      Kind kind,
      UUID clusterId,
      String name,
      Map<String, Object> columns,
      String specJson,
      Function<SpecRow, V> view) {
    lockCluster(actor, clusterId);
    requireUniqueName(kind, clusterId, name, null);
    UUID id = UUID.randomUUID();
    var cols = new ArrayList<>(List.of("id", "cluster_id", "name"));
    cols.addAll(columns.keySet());
    cols.add("spec");
    var params = new ArrayList<Object>(List.of(id, clusterId, name));
    params.addAll(columns.values());
    params.add(new Db.Json(specJson));
    db.update(
        "insert into "
            + kind.table()
            + " ("
            + String.join(", ", cols)
            + ") values ("
            + String.join(", ", cols.stream().map(c -> "?").toList())
            + ")",
        params.toArray());
    V created = view.apply(get(actor, kind, clusterId, id));
    audit.append(
        actor, kind.noun() + ".create", kind.noun(), id.toString(), clusterId, null, created);
    revisions.commit(clusterId, actor.auditName(), kind.noun() + " " + name + " created");
    return created;
  }

  @Transactional
  public <V> V update(
      Actor actor,
      Kind kind,
      UUID clusterId,
      UUID id,
      Long expectedVersion,
      String name,
      Map<String, Object> columns,
      String specJson,
      Function<SpecRow, V> view) {
    lockCluster(actor, clusterId);
    SpecRow before = get(actor, kind, clusterId, id);
    ETags.requireMatch(expectedVersion, before.version(), kind.noun() + " " + before.name());
    requireUniqueName(kind, clusterId, name, id);
    boolean unchanged =
        before.name().equals(name)
            && before.columns().equals(columns)
            && sameJson(before.specJson(), specJson);
    if (unchanged) {
      return view.apply(before);
    }
    var sets = new ArrayList<String>(List.of("name = ?"));
    var params = new ArrayList<Object>(List.of(name));
    columns.forEach(
        (col, value) -> {
          sets.add(col + " = ?");
          params.add(value);
        });
    sets.add("spec = ?");
    params.add(new Db.Json(specJson));
    params.add(id);
    db.update(
        "update "
            + kind.table()
            + " set "
            + String.join(", ", sets)
            + ", version = version + 1, updated_at = now() where id = ?",
        params.toArray());
    V after = view.apply(get(actor, kind, clusterId, id));
    audit.append(
        actor,
        kind.noun() + ".update",
        kind.noun(),
        id.toString(),
        clusterId,
        view.apply(before),
        after);
    revisions.commit(clusterId, actor.auditName(), kind.noun() + " " + name + " updated");
    return after;
  }

  @Transactional
  public <V> void delete(
      Actor actor,
      Kind kind,
      UUID clusterId,
      UUID id,
      Long expectedVersion,
      Function<SpecRow, V> view) {
    lockCluster(actor, clusterId);
    SpecRow before = get(actor, kind, clusterId, id);
    ETags.requireMatch(expectedVersion, before.version(), kind.noun() + " " + before.name());
    db.update("delete from " + kind.table() + " where id = ?", id);
    audit.append(
        actor,
        kind.noun() + ".delete",
        kind.noun(),
        id.toString(),
        clusterId,
        view.apply(before),
        null);
    revisions.commit(clusterId, actor.auditName(), kind.noun() + " " + before.name() + " deleted");
  }

  @Transactional
  public SpecRow get(Actor actor, Kind kind, UUID clusterId, UUID id) {
    actor.requireRead(clusterId);
    return db.one(
            "select "
                + kind.selectColumns()
                + " from "
                + kind.table()
                + " where id = ? and cluster_id = ?",
            rs -> map(kind, rs),
            id,
            clusterId)
        .orElseThrow(() -> ApiException.notFound(kind.noun(), id));
  }

  @Transactional
  public Optional<SpecRow> findByName(Kind kind, UUID clusterId, String name) {
    return db.one(
        "select "
            + kind.selectColumns()
            + " from "
            + kind.table()
            + " where cluster_id = ? and name = ?",
        rs -> map(kind, rs),
        clusterId,
        name);
  }

  @Transactional
  public List<SpecRow> all(Kind kind, UUID clusterId) {
    return db.list(
        "select "
            + kind.selectColumns()
            + " from "
            + kind.table()
            + " where cluster_id = ? order by name",
        rs -> map(kind, rs),
        clusterId);
  }

  @Transactional
  public Page<SpecRow> list(Actor actor, Kind kind, UUID clusterId, PageRequest page) {
    actor.requireRead(clusterId);
    if (db.one("select 1 from clusters where id = ?", rs -> 1, clusterId).isEmpty()) {
      throw ApiException.notFound("cluster", clusterId);
    }
    List<SpecRow> rows =
        db.list(
            "select "
                + kind.selectColumns()
                + " from "
                + kind.table()
                + " where cluster_id = ? and name > ? order by name limit ?",
            rs -> map(kind, rs),
            clusterId,
            page.after(),
            page.fetch());
    return Page.of(rows, page, SpecRow::name);
  }

  private void requireUniqueName(Kind kind, UUID clusterId, String name, UUID except) {
    findByName(kind, clusterId, name)
        .filter(r -> !r.id().equals(except))
        .ifPresent(
            r -> {
              throw ApiException.conflict(
                  "a " + kind.noun() + " named '" + name + "' already exists in this cluster");
            });
  }

  private boolean sameJson(String storedJsonb, String candidate) {
    return db.one(
            "select cast(? as jsonb) = cast(? as jsonb)",
            rs -> rs.getBoolean(1),
            storedJsonb,
            candidate)
        .orElse(false);
  }

  private static SpecRow map(Kind kind, ResultSet rs) throws SQLException {
    Map<String, Object> cols = new LinkedHashMap<>();
    for (String c : kind.columns()) {
      cols.put(c, rs.getObject(c));
    }
    return new SpecRow(
        Db.uuid(rs, "id"),
        Db.uuid(rs, "cluster_id"),
        rs.getString("name"),
        cols,
        rs.getString("spec"),
        rs.getLong("version"),
        Db.instant(rs, "created_at"),
        Db.instant(rs, "updated_at"));
  }
}
