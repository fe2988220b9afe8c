package io.marchproxy.api.revisions;

import io.marchproxy.core.config.ClusterConfigRenderer;
import io.marchproxy.core.db.Db;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.transaction.annotation.Transactional;
import jakarta.inject.Singleton;
import java.util.Optional;
import java.util.UUID;

/**
 * Called at the end of every write to a cluster's desired state, inside its transaction: renders
 * the whole cluster config and stores it as revision N+1, unless it is identical to revision N. The
 * insert's trigger NOTIFYs xds-service when the transaction commits.
 */
@Singleton
public class RevisionWriter {

  private final Db db;
  private final ClusterConfigRenderer renderer;
  private final RevisionWatch watch;

  RevisionWriter(Db db, ClusterConfigRenderer renderer, @Nullable RevisionWatch watch) {
    this.db = db;
    this.renderer = renderer;
    this.watch = watch;
  }

  /** The new revision number, or empty when nothing changed. */
  @Transactional
  public Optional<Long> commit(UUID clusterId, String actor, String reason) {
    // Serialize writers of this cluster so revision numbers never collide.
    long current =
        db.one(
                "select current_revision from clusters where id = ? for update",
                rs -> rs.getLong(1),
                clusterId)
            .orElseThrow(() -> new IllegalStateException("cluster " + clusterId + " vanished"));
    ClusterConfigRenderer.Rendered doc = renderer.render(clusterId).orElseThrow();
    Optional<String> lastHash =
        db.one(
            "select content_hash from config_revisions where cluster_id = ? and revision = ?",
            rs -> rs.getString(1),
            clusterId,
            current);
    if (lastHash.isPresent() && lastHash.get().equals(doc.sha256())) {
      return Optional.empty();
    }
    long next = current + 1;
    if (watch != null) {
      watch.writing(clusterId);
    }
    db.update(
        "insert into config_revisions (cluster_id, revision, document, content_hash, created_by, reason)"
            + " values (?, ?, ?, ?, ?, ?)",
        clusterId,
        next,
        doc.json(),
        doc.sha256(),
        actor.length() > 64 ? actor.substring(0, 64) : actor,
        reason.length() > 256 ? reason.substring(0, 256) : reason);
    db.update("update clusters set current_revision = ? where id = ?", next, clusterId);
    return Optional.of(next);
  }
}
