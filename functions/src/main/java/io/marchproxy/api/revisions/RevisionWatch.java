package io.marchproxy.api.revisions;

import io.micronaut.context.annotation.Requires;
import io.micronaut.context.annotation.Value;
import io.micronaut.context.event.ApplicationEventListener;
import io.micronaut.jdbc.DataSourceResolver;
import io.micronaut.runtime.server.event.ServerStartupEvent;
import jakarta.annotation.PreDestroy;
import jakarta.inject.Singleton;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.sql.DataSource;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Knows each cluster's current revision without asking Postgres: it LISTENs for {@code
 * config_changed}. Read caches use it to serve lists from memory and to drop them the moment a
 * revision commits — on any API instance. When the listener is down, or a local write has not been
 * confirmed by its notification yet, it answers "unknown" and callers read the database. Off on
 * Lambda (a frozen function would miss notifications).
 */
@Singleton
@Requires(property = "marchproxy.api.read-cache.enabled", notEquals = "false")
@Requires(missingProperty = "aws.lambda.function.name")
public class RevisionWatch implements ApplicationEventListener<ServerStartupEvent> {

  private static final Logger LOG = LoggerFactory.getLogger(RevisionWatch.class);
  private static final Pattern PAYLOAD =
      Pattern.compile("\"cluster_id\"\\s*:\\s*\"([0-9a-f-]{36})\".*\"revision\"\\s*:\\s*(\\d+)");

  private final DataSource dataSource;
  private final Clock clock;
  private final Map<UUID, Long> revisions = new ConcurrentHashMap<>();
  private final Map<UUID, Instant> pending = new ConcurrentHashMap<>();
  private volatile boolean live;
  private volatile boolean stopping;
  private final long pendingMillis;
  private Thread thread;

  RevisionWatch(
      DataSource dataSource,
      DataSourceResolver resolver,
      Clock clock,
      @Value("${marchproxy.api.read-cache.pending-window:5s}") java.time.Duration pendingWindow) {
    this.dataSource = resolver.resolve(dataSource);
    this.clock = clock;
    this.pendingMillis = pendingWindow.toMillis();
  }

  @Override
  public void onApplicationEvent(ServerStartupEvent event) {
    thread = Thread.ofPlatform().daemon().name("revision-watch").start(this::listenForever);
  }

  /** The cluster's revision as last notified, if the watch can vouch for it right now. */
  public Optional<Long> known(UUID clusterId) {
    if (!live) {
      return Optional.empty();
    }
    Instant since = pending.get(clusterId);
    if (since != null) {
      if (since.plusMillis(pendingMillis).isAfter(clock.instant())) {
        return Optional.empty();
      }
      pending.remove(clusterId, since);
    }
    return Optional.ofNullable(revisions.get(clusterId));
  }

  /** A local write is about to change this cluster: distrust caches until its notification. */
  public void writing(UUID clusterId) {
    pending.put(clusterId, clock.instant());
  }

  /** Learns a revision read from the database (only ever moves forward). */
  public void learned(UUID clusterId, long revision) {
    if (live && !pending.containsKey(clusterId)) {
      revisions.merge(clusterId, revision, Math::max);
    }
  }

  private void listenForever() {
    while (!stopping) {
      try (Connection c = dataSource.getConnection()) {
        c.setAutoCommit(true);
        try (Statement s = c.createStatement()) {
          s.execute("listen config_changed");
        }
        revisions.clear();
        live = true;
        PGConnection pg = c.unwrap(PGConnection.class);
        while (!stopping) {
          PGNotification[] received = pg.getNotifications(1000);
          if (received == null) {
            continue;
          }
          for (PGNotification n : received) {
            Matcher m = PAYLOAD.matcher(n.getParameter());
            if (m.find()) {
              UUID cluster = UUID.fromString(m.group(1));
              revisions.merge(cluster, Long.parseLong(m.group(2)), Math::max);
              pending.remove(cluster);
            }
          }
        }
      } catch (SQLException e) {
        if (!stopping) {
          LOG.warn(
              "Revision watch lost its connection ({}); reads go to the database until it is back",
              e.getMessage());
        }
      } finally {
        live = false;
      }
      sleepQuietly(1000);
    }
  }

  @PreDestroy
  void stop() {
    stopping = true;
    live = false;
    if (thread != null) {
      thread.interrupt();
    }
  }

  private static void sleepQuietly(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
