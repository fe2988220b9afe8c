package io.marchproxy.xds.report;

import io.marchproxy.core.db.Db;
import io.marchproxy.xds.cache.Snapshot;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micronaut.context.annotation.Value;
import io.micronaut.json.JsonMapper;
import io.micronaut.transaction.TransactionOperations;
import jakarta.annotation.PreDestroy;
import jakarta.inject.Singleton;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Stage 6, report: what each proxy holds, applied or rejected. Per proxy and type the last ACKed
 * version (and the revision it belongs to), whether its stream is connected, the revision it has
 * applied — written to Postgres in debounced batches (proxies.xds, proxies.applied_revision) so a
 * fleet ACKing at once costs one transaction, not one per proxy. A NACK is written at once
 * (proxies.last_nack). Metrics: connected proxies, NACKs, responses, propagation latency.
 */
@Singleton
public class ProxyReports {

  private static final Logger LOG = LoggerFactory.getLogger(ProxyReports.class);

  /** The last version of one type a proxy ACKed; {@code revision} null when not the current. */
  record Acked(String version, Long revision, Instant at) {}

  /** What this replica knows of one proxy's stream. */
  private static final class State {
    volatile boolean connected;
    volatile String group;
    final Map<String, Acked> types = new ConcurrentHashMap<>();
    volatile Long applied;
    volatile boolean nacked;
  }

  private final Db db;
  private final TransactionOperations<Connection> tx;
  private final JsonMapper json;
  private final Clock clock;
  private final MeterRegistry metrics;
  private final Map<UUID, State> states = new ConcurrentHashMap<>();
  private final Set<UUID> dirty = ConcurrentHashMap.newKeySet();
  private final Map<String, Counter> responses = new ConcurrentHashMap<>();
  private final Timer propagation;
  private final ScheduledExecutorService flusher =
      Executors.newSingleThreadScheduledExecutor(
          Thread.ofPlatform().daemon().name("proxy-reports").factory());
  private volatile Function<String, Snapshot> snapshots = g -> null;

  ProxyReports(
      Db db,
      TransactionOperations<Connection> tx,
      JsonMapper json,
      Clock clock,
      MeterRegistry metrics,
      @Value("${marchproxy.xds.report.flush-interval:250ms}") Duration flushInterval) {
    this.db = db;
    this.tx = tx;
    this.json = json;
    this.clock = clock;
    this.metrics = metrics;
    metrics.gauge(
        "xds_connected_proxies", states, m -> m.values().stream().filter(s -> s.connected).count());
    this.propagation =
        Timer.builder("xds_propagation")
            .description(
                "From a revision's commit in Postgres to a proxy's ACK of every type it holds")
            .publishPercentileHistogram()
            .minimumExpectedValue(Duration.ofMillis(1))
            .maximumExpectedValue(Duration.ofSeconds(60))
            .register(metrics);
    long ms = Math.max(10, flushInterval.toMillis());
    flusher.scheduleWithFixedDelay(this::flushQuietly, ms, ms, TimeUnit.MILLISECONDS);
  }

  /** Where ACKed versions are looked up to learn the revision a proxy applied. */
  public void snapshotsFrom(Function<String, Snapshot> lookup) {
    this.snapshots = lookup;
  }

  public void connected(UUID proxyId, boolean isConnected) {
    State s = states.computeIfAbsent(proxyId, p -> new State());
    s.connected = isConnected;
    dirty.add(proxyId);
  }

  public boolean isConnected(UUID proxyId) {
    State s = states.get(proxyId);
    return s != null && s.connected;
  }

  /**
   * A proxy ACKed {@code version} of a type. It has applied a revision once every type it holds is
   * at that revision's snapshot version; then the revision is recorded and the propagation latency
   * (commit → this moment) observed, once per proxy and revision.
   */
  public void ack(UUID proxyId, String group, String typeUrl, String version) {
    State state = states.computeIfAbsent(proxyId, p -> new State());
    state.group = group;
    Snapshot s = snapshots.apply(group);
    boolean current = s != null && s.get(typeUrl).version().equals(version);
    state.types.put(typeUrl, new Acked(version, current ? s.revision() : null, clock.instant()));
    dirty.add(proxyId);
    if (!current) {
      return;
    }
    for (Map.Entry<String, Acked> held : state.types.entrySet()) {
      if (!s.get(held.getKey()).version().equals(held.getValue().version())) {
        return; // some type is still on an older revision
      }
    }
    applied(proxyId, state, s);
  }

  /**
   * A new snapshot was published for a group. A proxy that already holds every type at its versions
   * (content-derived: a fix that returns to what the proxy accepted) is sent nothing, so it has
   * applied the revision now, and a NACK it sent earlier no longer describes it.
   */
  public void published(String group, Snapshot s) {
    states.forEach(
        (proxyId, state) -> {
          if (group.equals(state.group) && !state.types.isEmpty()) {
            boolean holdsAll = true;
            for (Map.Entry<String, Acked> held : state.types.entrySet()) {
              if (!s.get(held.getKey()).version().equals(held.getValue().version())) {
                holdsAll = false;
                break;
              }
            }
            if (holdsAll) {
              state.types.replaceAll(
                  (type, acked) -> new Acked(acked.version(), s.revision(), acked.at()));
              dirty.add(proxyId);
              applied(proxyId, state, s);
            }
          }
        });
  }

  private void applied(UUID proxyId, State state, Snapshot s) {
    if (state.nacked) {
      state.nacked = false;
      try {
        tx.executeWrite(
            st -> db.update("update proxies set last_nack = null where id = ?", proxyId));
      } catch (RuntimeException e) {
        LOG.warn("Could not clear the NACK of proxy {}: {}", proxyId, e.getMessage());
      }
    }
    Long before = state.applied;
    if (before == null || before != s.revision()) {
      state.applied = s.revision();
      if (s.committedAt() != null) {
        Duration took = Duration.between(s.committedAt(), clock.instant());
        if (!took.isNegative()) {
          propagation.record(took);
        }
      }
    }
  }

  /** A response went out on a stream (counted per type: a NACK loop would show here). */
  public void sent(String typeUrl) {
    responses
        .computeIfAbsent(
            typeUrl,
            t ->
                Counter.builder("xds_responses_total")
                    .tag("type", shortType(t))
                    .description("xDS responses sent to proxies")
                    .register(metrics))
        .increment();
  }

  public void nack(
      UUID proxyId, String typeUrl, String rejectedVersion, String keptVersion, String detail) {
    Counter.builder("xds_nack_total")
        .tag("type", shortType(typeUrl))
        .description("Configuration rejected by proxies")
        .register(metrics)
        .increment();
    LOG.warn("Proxy {} rejected {} version {}: {}", proxyId, typeUrl, rejectedVersion, detail);
    states.computeIfAbsent(proxyId, p -> new State()).nacked = true;
    Map<String, Object> nack = new LinkedHashMap<>();
    nack.put("typeUrl", typeUrl);
    nack.put("rejectedVersion", rejectedVersion);
    nack.put("keptVersion", keptVersion);
    nack.put("errorDetail", detail.length() > 2000 ? detail.substring(0, 2000) : detail);
    nack.put("at", clock.instant().toString());
    try {
      String doc = new String(json.writeValueAsBytes(nack), StandardCharsets.UTF_8);
      tx.executeWrite(
          s ->
              db.update(
                  "update proxies set last_nack = cast(? as jsonb) where id = ?", doc, proxyId));
    } catch (IOException | RuntimeException e) {
      LOG.warn("Could not record a NACK of proxy {}: {}", proxyId, e.getMessage());
    }
  }

  /** Writes what changed since the last flush, in one transaction. */
  void flush() {
    if (dirty.isEmpty()) {
      return;
    }
    List<UUID> batch = new ArrayList<>(dirty);
    batch.forEach(dirty::remove);
    record Row(UUID id, String xds, Long applied, boolean connected) {}
    List<Row> rows = new ArrayList<>();
    for (UUID id : batch) {
      State s = states.get(id);
      if (s == null) {
        continue;
      }
      // Read before the types: an ACK records its type first and the applied revision after, so
      // a revision read here is always backed by the types read next (read the other way round, a
      // flush racing an ACK could store the revision with the ACKed type missing).
      Long applied = s.applied;
      boolean connected = s.connected;
      Map<String, Object> types = new TreeMap<>();
      s.types.forEach(
          (type, acked) -> {
            Map<String, Object> t = new LinkedHashMap<>();
            t.put("version", acked.version());
            t.put("revision", acked.revision());
            t.put("at", acked.at().toString());
            types.put(shortType(type), t);
          });
      Map<String, Object> doc = new LinkedHashMap<>();
      doc.put("connected", connected);
      doc.put("types", types);
      try {
        rows.add(
            new Row(
                id,
                new String(json.writeValueAsBytes(doc), StandardCharsets.UTF_8),
                applied,
                connected));
      } catch (IOException e) {
        LOG.warn("Could not render the xDS state of proxy {}", id, e);
      }
      if (!s.connected) {
        states.remove(id, s); // gone from this replica; the row keeps what it last knew
      }
    }
    Instant now = clock.instant();
    try {
      tx.executeWrite(
          status -> {
            for (Row r : rows) {
              db.update(
                  "update proxies set xds = cast(? as jsonb),"
                      + " applied_revision = coalesce(?, applied_revision),"
                      + " last_seen_at = case when ? then greatest(last_seen_at, ?) else last_seen_at end"
                      + " where id = ?",
                  r.xds(),
                  r.applied(),
                  r.connected(),
                  now,
                  r.id());
            }
            return null;
          });
    } catch (RuntimeException e) {
      LOG.warn("Could not record the xDS state of {} proxies: {}", rows.size(), e.getMessage());
      dirty.addAll(batch); // retried on the next flush
    }
  }

  private void flushQuietly() {
    try {
      flush();
    } catch (RuntimeException e) {
      LOG.warn("Proxy report flush failed: {}", e.getMessage());
    }
  }

  private static String shortType(String typeUrl) {
    return typeUrl.substring(typeUrl.lastIndexOf('.') + 1);
  }

  @PreDestroy
  void stop() {
    flusher.shutdownNow();
    states.values().forEach(s -> s.connected = false);
    dirty.addAll(states.keySet());
    flushQuietly();
  }
}
