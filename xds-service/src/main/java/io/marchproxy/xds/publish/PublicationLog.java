package io.marchproxy.xds.publish;

import io.marchproxy.core.db.Db;
import io.marchproxy.xds.validate.Problem;
import io.micronaut.json.JsonMapper;
import io.micronaut.transaction.TransactionOperations;
import jakarta.annotation.PreDestroy;
import jakarta.inject.Singleton;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Records what each revision became per data-plane kind (table {@code revision_publications}), off
 * the publishing thread so a slow database never delays a snapshot. Every replica computes the same
 * outcome for a revision, so the write is an idempotent upsert.
 */
@Singleton
class PublicationLog {

  private static final Logger LOG = LoggerFactory.getLogger(PublicationLog.class);

  private final Db db;
  private final TransactionOperations<Connection> tx;
  private final JsonMapper json;
  private final Clock clock;
  private final ExecutorService writer =
      Executors.newSingleThreadExecutor(
          Thread.ofPlatform().daemon().name("publication-log").factory());

  PublicationLog(Db db, TransactionOperations<Connection> tx, JsonMapper json, Clock clock) {
    this.db = db;
    this.tx = tx;
    this.json = json;
    this.clock = clock;
  }

  void record(UUID clusterId, long revision, String dataPlane, List<Problem> problems) {
    var at = clock.instant();
    String problemsJson = toJson(problems);
    writer.execute(
        () -> {
          try {
            tx.executeWrite(
                s ->
                    db.update(
                        "insert into revision_publications (cluster_id, revision, data_plane, state, problems, at)"
                            + " select ?, ?, ?, ?, cast(? as jsonb), ? where exists (select 1 from clusters where id = ?)"
                            + " on conflict (cluster_id, revision, data_plane) do update set state = excluded.state,"
                            + " problems = excluded.problems"
                            + " where revision_publications.problems is distinct from excluded.problems",
                        clusterId,
                        revision,
                        dataPlane,
                        problems.isEmpty() ? "published" : "failed",
                        problemsJson,
                        at,
                        clusterId));
          } catch (RuntimeException e) {
            LOG.warn(
                "Could not record the {} publication of revision {} of cluster {}: {}",
                dataPlane,
                revision,
                clusterId,
                e.getMessage());
          }
        });
  }

  /** Waits for the queued writes (tests and shutdown). */
  void flush() throws Exception {
    writer.submit(() -> {}).get(10, TimeUnit.SECONDS);
  }

  private String toJson(List<Problem> problems) {
    try {
      List<Map<String, String>> out =
          problems.stream()
              .map(
                  p ->
                      Map.of(
                          "resourceType", p.resourceType(),
                          "name", p.name() == null ? "" : p.name(),
                          "message", p.message()))
              .toList();
      return new String(json.writeValueAsBytes(out), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  @PreDestroy
  void stop() throws InterruptedException {
    writer.shutdown();
    writer.awaitTermination(5, TimeUnit.SECONDS);
  }
}
