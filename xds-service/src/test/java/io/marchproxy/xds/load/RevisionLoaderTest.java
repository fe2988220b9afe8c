package io.marchproxy.xds.load;

import static org.assertj.core.api.Assertions.assertThat;

import io.marchproxy.core.testing.TestPostgres;
import io.micrometer.core.instrument.MeterRegistry;
import io.micronaut.context.annotation.Requires;
import io.micronaut.test.extensions.junit5.annotation.MicronautTest;
import io.micronaut.test.support.TestPropertyProvider;
import jakarta.inject.Inject;
import jakarta.inject.Singleton;
import java.sql.Connection;
import java.sql.Statement;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** The load stage against a real Postgres: notifications, debouncing, resync, removal. */
@MicronautTest(transactional = false)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class RevisionLoaderTest implements TestPropertyProvider {

  /** Records what the next stage would receive. */
  @Singleton
  @Requires(env = "test")
  static class Recorder implements RevisionListener {
    final List<LoadedRevision> revisions = new CopyOnWriteArrayList<>();
    final List<UUID> removed = new CopyOnWriteArrayList<>();

    @Override
    public void onRevision(LoadedRevision revision) {
      revisions.add(revision);
    }

    @Override
    public void onClusterRemoved(UUID clusterId) {
      removed.add(clusterId);
    }
  }

  @Inject RevisionLoader loader;
  @Inject Recorder recorder;
  @Inject MeterRegistry metrics;
  private String url;

  @Override
  public Map<String, String> getProperties() {
    var props = new HashMap<>(TestPostgres.datasourceProperties());
    url = props.get("datasources.default.url");
    props.put("marchproxy.xds.grpc-port", "0");
    props.put("marchproxy.xds.load.quiet", "50ms");
    props.put("marchproxy.xds.load.cap", "300ms");
    props.put("marchproxy.xds.load.resync-interval", "1s");
    return props;
  }

  private void sql(String... statements) throws Exception {
    try (Connection c = TestPostgres.connect(url);
        Statement s = c.createStatement()) {
      for (String statement : statements) {
        s.execute(statement);
      }
    }
  }

  private static String revision(UUID cluster, long n) {
    String doc =
        "{\"schema\":1,\"cluster\":{\"id\":\""
            + cluster
            + "\",\"name\":\"c\"},\"services\":[],\"routes\":[],"
            + "\"mappings\":[],\"certificates\":[]}";
    return "insert into config_revisions (cluster_id, revision, document, content_hash) values ('"
        + cluster
        + "', "
        + n
        + ", '"
        + doc
        + "', '"
        + String.valueOf((char) ('a' + n % 6)).repeat(64)
        + "');"
        + " update clusters set current_revision = "
        + n
        + " where id = '"
        + cluster
        + "'";
  }

  private static void eventually(BooleanSupplier condition, String what)
      throws InterruptedException {
    long deadline = System.nanoTime() + 15_000_000_000L;
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("not within 15 s: " + what);
      }
      Thread.sleep(20);
    }
  }

  @Test
  void newRevisionsArriveInOrderAndBurstsAreCoalesced() throws Exception {
    eventually(loader::initialLoadDone, "initial load");
    UUID cluster = UUID.randomUUID();
    sql(
        "insert into clusters (id, name) values ('" + cluster + "', 'burst')",
        revision(cluster, 1));
    eventually(
        () -> Long.valueOf(1).equals(loader.currentRevisions().get(cluster)), "revision 1 loaded");

    double loadsBefore = metrics.counter("xds_revision_loads_total").count();
    StringBuilder burst = new StringBuilder();
    for (int n = 2; n <= 21; n++) {
      burst.append(revision(cluster, n)).append(';');
    }
    // Twenty commits in a row, each with its own notification.
    for (int n = 2; n <= 21; n++) {
      sql(revision(cluster, n));
    }
    // the loader records a revision as current before its listeners are called: wait for both
    eventually(
        () ->
            Long.valueOf(21).equals(loader.currentRevisions().get(cluster))
                && recorder.revisions.stream()
                    .anyMatch(r -> r.clusterId().equals(cluster) && r.revision() == 21),
        "revision 21 loaded and handed on");
    double loads = metrics.counter("xds_revision_loads_total").count() - loadsBefore;
    assertThat(loads).as("loads for 20 commits").isLessThan(20);

    List<Long> seen =
        recorder.revisions.stream()
            .filter(r -> r.clusterId().equals(cluster))
            .map(LoadedRevision::revision)
            .toList();
    assertThat(seen).isSorted().startsWith(1L).endsWith(21L).doesNotHaveDuplicates();
    assertThat(recorder.revisions.getLast().document().cluster().id()).isEqualTo(cluster);
  }

  @Test
  void aMissedNotificationIsCaughtByTheResync() throws Exception {
    eventually(loader::initialLoadDone, "initial load");
    UUID cluster = UUID.randomUUID();
    sql(
        "alter table config_revisions disable trigger config_revisions_notify",
        "insert into clusters (id, name) values ('" + cluster + "', 'quiet')",
        revision(cluster, 1),
        "alter table config_revisions enable trigger config_revisions_notify");
    eventually(
        () -> Long.valueOf(1).equals(loader.currentRevisions().get(cluster)), "resync loads it");
  }

  @Test
  void aDeletedClusterIsRemoved() throws Exception {
    eventually(loader::initialLoadDone, "initial load");
    UUID cluster = UUID.randomUUID();
    sql(
        "insert into clusters (id, name) values ('" + cluster + "', 'doomed')",
        revision(cluster, 1));
    eventually(() -> loader.currentRevisions().containsKey(cluster), "loaded");
    sql("delete from clusters where id = '" + cluster + "'");
    eventually(() -> recorder.removed.contains(cluster), "removal passed on");
    assertThat(loader.currentRevisions()).doesNotContainKey(cluster);
  }

  @Test
  void aLicenseChangeHandsEveryCurrentRevisionOnAgain() throws Exception {
    eventually(loader::initialLoadDone, "initial load");
    UUID cluster = UUID.randomUUID();
    sql(
        "insert into clusters (id, name) values ('" + cluster + "', 'licensed')",
        revision(cluster, 1));
    eventually(() -> seen(cluster) == 1, "revision 1 handed on");
    Thread.sleep(1500); // a resync or two: an unchanged revision is not handed on again
    assertThat(seen(cluster)).isEqualTo(1);

    sql(
        "insert into license (id, token) values (1, 'not-a-real-token') on conflict (id) do update set token = excluded.token");
    eventually(() -> seen(cluster) == 2, "revision 1 handed on again after the license change");
    sql("delete from license");
  }

  private long seen(UUID cluster) {
    return recorder.revisions.stream().filter(r -> r.clusterId().equals(cluster)).count();
  }
}
