package io.marchproxy.xds.load;

import io.marchproxy.core.config.ClusterConfig;
import io.marchproxy.core.config.ClusterConfigRenderer;
import io.marchproxy.core.db.Db;
import io.marchproxy.core.ops.ReadinessCheck;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micronaut.context.annotation.Context;
import io.micronaut.context.annotation.Value;
import io.micronaut.jdbc.DataSourceResolver;
import io.micronaut.transaction.TransactionOperations;
import jakarta.annotation.PostConstruct;
import jakarta.annotation.PreDestroy;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.sql.DataSource;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Stage 1, load: keeps every cluster's current revision in step with Postgres. It LISTENs for
 * {@code config_changed}, coalesces bursts (a quiet period, capped so a steady stream still
 * flushes), loads the newest revision of each changed cluster, and hands it on. A periodic full
 * resync catches what notifications miss (they are lost while the connection is down).
 */
@Context
public class RevisionLoader implements ReadinessCheck {

  private static final Logger LOG = LoggerFactory.getLogger(RevisionLoader.class);
  private static final Pattern LICENSE = Pattern.compile("\"license\"\\s*:\\s*true");
  private static final Pattern CLUSTER =
      Pattern.compile("\"cluster_id\"\\s*:\\s*\"([0-9a-f-]{36})\"");

  private final DataSource pool;
  private final Db db;
  private final TransactionOperations<Connection> tx;
  private final ClusterConfigRenderer renderer;
  private final List<RevisionListener> listeners;
  private final Duration quiet;
  private final Duration cap;
  private final Duration resyncInterval;
  private final Counter loads;
  private final Counter notifications;

  private final Map<UUID, Long> current = new ConcurrentHashMap<>();

  /** The last document loaded per cluster: the next one reuses its unchanged services. */
  private final Map<UUID, ClusterConfig> lastDocuments = new ConcurrentHashMap<>();

  private final Set<UUID> pending = ConcurrentHashMap.newKeySet();
  private final ScheduledExecutorService scheduler =
      Executors.newSingleThreadScheduledExecutor(
          Thread.ofPlatform().daemon().name("revision-loader").factory());
  private ScheduledFuture<?> flush;
  private long firstPendingNanos;
  private long lastFlushNanos = System.nanoTime() - Duration.ofDays(1).toNanos();
  private volatile boolean initialLoadDone;
  private volatile boolean stopping;
  private Thread listenerThread;

  RevisionLoader(
      DataSource dataSource,
      DataSourceResolver resolver,
      Db db,
      TransactionOperations<Connection> tx,
      ClusterConfigRenderer renderer,
      List<RevisionListener> listeners,
      MeterRegistry metrics,
      @Value("${marchproxy.xds.load.quiet:5ms}") Duration quiet,
      @Value("${marchproxy.xds.load.cap:200ms}") Duration cap,
      @Value("${marchproxy.xds.load.resync-interval:30s}") Duration resyncInterval) {
    this.pool = resolver.resolve(dataSource);
    this.db = db;
    this.tx = tx;
    this.renderer = renderer;
    this.listeners = listeners;
    this.quiet = quiet;
    this.cap = cap;
    this.resyncInterval = resyncInterval;
    this.loads =
        Counter.builder("xds_revision_loads_total")
            .description("Revision loads from Postgres")
            .register(metrics);
    this.notifications =
        Counter.builder("xds_revision_notifications_total")
            .description("config_changed notifications received")
            .register(metrics);
  }

  @PostConstruct
  void start() {
    // Listen first, then load everything: a revision committed in between is seen either way.
    listenerThread =
        Thread.ofPlatform().daemon().name("revision-listen").start(this::listenForever);
    scheduler.execute(this::resync);
    scheduler.scheduleWithFixedDelay(
        this::resync, resyncInterval.toMillis(), resyncInterval.toMillis(), TimeUnit.MILLISECONDS);
  }

  /** The revision each cluster is at, as far as this process has loaded. */
  public Map<UUID, Long> currentRevisions() {
    return Map.copyOf(current);
  }

  public boolean initialLoadDone() {
    return initialLoadDone;
  }

  @Override
  public String name() {
    return "revisions";
  }

  @Override
  public Result check() {
    return initialLoadDone
        ? Result.ok(current.size() + " cluster(s) loaded")
        : Result.notReady("initial load from Postgres not finished");
  }

  private void listenForever() {
    while (!stopping) {
      try (Connection c = pool.getConnection()) {
        c.setAutoCommit(true);
        try (Statement s = c.createStatement()) {
          s.execute("listen config_changed");
        }
        // Anything committed while we were not listening is caught by a resync now.
        scheduler.execute(this::resync);
        PGConnection pg = c.unwrap(PGConnection.class);
        while (!stopping) {
          PGNotification[] received = pg.getNotifications(1000);
          if (received != null) {
            for (PGNotification n : received) {
              notifications.increment();
              Matcher m = CLUSTER.matcher(n.getParameter());
              if (m.find()) {
                changed(UUID.fromString(m.group(1)));
              } else if (LICENSE.matcher(n.getParameter()).find()) {
                scheduler.execute(this::republishAll);
              }
            }
          }
        }
      } catch (SQLException e) {
        if (!stopping) {
          LOG.warn("Lost the LISTEN connection ({}); retrying in 1 s", e.getMessage());
        }
      }
      if (!stopping) {
        try {
          Thread.sleep(1000);
        } catch (InterruptedException e) {
          return;
        }
      }
    }
  }

  /**
   * Debounce with a leading edge: a change after a quiet period is loaded at once (a single API
   * write does not wait); changes arriving while others are pending, or right after a load, are
   * coalesced until a quiet period passes, but never later than the cap after the first of them.
   */
  private synchronized void changed(UUID clusterId) {
    long now = System.nanoTime();
    boolean idle = pending.isEmpty() && now - lastFlushNanos >= quiet.toNanos();
    if (pending.isEmpty()) {
      firstPendingNanos = now;
    }
    pending.add(clusterId);
    if (flush != null) {
      flush.cancel(false);
    }
    long untilCap = cap.toNanos() - (now - firstPendingNanos);
    long delay = idle ? 0 : Math.max(0, Math.min(quiet.toNanos(), untilCap));
    flush = scheduler.schedule(this::flush, delay, TimeUnit.NANOSECONDS);
  }

  private void flush() {
    Set<UUID> batch;
    synchronized (this) {
      batch = new HashSet<>(pending);
      pending.clear();
      flush = null;
      lastFlushNanos = System.nanoTime();
    }
    if (!batch.isEmpty()) {
      load(batch);
    }
  }

  /**
   * Hands every cluster's current revision on again (the license changed: what is built from a
   * revision may differ although the revision did not).
   */
  private void republishAll() {
    LOG.info("License changed: re-publishing every cluster's current revision");
    current.clear();
    resync();
  }

  private void resync() {
    try {
      List<UUID> all =
          tx.executeRead(s -> db.list("select id from clusters", rs -> Db.uuid(rs, "id")));
      Set<UUID> gone = new HashSet<>(current.keySet());
      all.forEach(gone::remove);
      for (UUID id : gone) {
        current.remove(id);
        lastDocuments.remove(id);
        listeners.forEach(l -> l.onClusterRemoved(id));
      }
      load(new HashSet<>(all));
      initialLoadDone = true;
    } catch (RuntimeException e) {
      LOG.warn("Resync from Postgres failed: {}", e.getMessage());
    }
  }

  private void load(Set<UUID> clusters) {
    record Row(
        UUID id, String name, Long revision, String hash, String document, java.time.Instant at) {}
    List<Row> rows =
        tx.executeRead(
            s ->
                db.list(
                    "select c.id, c.name, r.revision, r.content_hash, r.document, r.created_at from clusters c"
                        + " left join config_revisions r on r.cluster_id = c.id and r.revision = c.current_revision"
                        + " where c.id = any(?::uuid[])",
                    rs ->
                        new Row(
                            Db.uuid(rs, "id"),
                            rs.getString("name"),
                            (Long) rs.getObject("revision"),
                            rs.getString("content_hash"),
                            rs.getString("document"),
                            Db.instant(rs, "created_at")),
                    new ArrayList<>(clusters)));
    loads.increment();
    Set<UUID> found = new HashSet<>();
    for (Row r : rows) {
      found.add(r.id());
      if (r.revision() == null) {
        continue; // a cluster without its first revision yet
      }
      Long known = current.get(r.id());
      if (known != null && known >= r.revision()) {
        continue;
      }
      LoadedRevision loaded;
      try {
        ClusterConfig doc =
            SameServices.reuse(lastDocuments.get(r.id()), renderer.read(r.document()));
        lastDocuments.put(r.id(), doc);
        loaded = new LoadedRevision(r.id(), r.name(), r.revision(), r.hash(), doc, r.at());
      } catch (RuntimeException e) {
        LOG.error(
            "Revision {} of cluster {} is unreadable; keeping revision {}",
            r.revision(),
            r.name(),
            known,
            e);
        current.put(r.id(), r.revision()); // do not retry the same broken document forever
        continue;
      }
      current.put(r.id(), r.revision());
      listeners.forEach(l -> l.onRevision(loaded));
    }
    for (UUID id : clusters) {
      if (!found.contains(id) && current.remove(id) != null) {
        lastDocuments.remove(id);
        listeners.forEach(l -> l.onClusterRemoved(id));
      }
    }
  }

  @PreDestroy
  void stop() {
    stopping = true;
    scheduler.shutdownNow();
    if (listenerThread != null) {
      listenerThread.interrupt();
    }
  }
}
