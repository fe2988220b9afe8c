package io.marchproxy.xds.report;

import io.marchproxy.core.db.Db;
import io.marchproxy.xds.cache.Snapshot;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micronaut.json.JsonMapper;
import io.micronaut.transaction.TransactionOperations;
import jakarta.inject.Singleton;
import java.io.IOException;
import java.sql.Connection;
import java.time.Clock;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Stage 6, report: what each proxy applied or rejected, written to Postgres so the API shows it
 * (proxies.applied_revision, proxies.last_nack), and counted in metrics.
 */
@Singleton
public class ProxyReports {

  private static final Logger LOG = LoggerFactory.getLogger(ProxyReports.class);

  private final Db db;
  private final TransactionOperations<Connection> tx;
  private final JsonMapper json;
  private final Clock clock;
  private final MeterRegistry metrics;
  private final Set<UUID> connected = ConcurrentHashMap.newKeySet();
  private final Map<UUID, Long> appliedRevisions = new ConcurrentHashMap<>();

  /** proxy → type → the version it last ACKed. */
  private final Map<UUID, Map<String, String>> acked = new ConcurrentHashMap<>();

  private final Timer propagation;
  private volatile Function<String, Snapshot> snapshots = g -> null;

  ProxyReports(
      Db db,
      TransactionOperations<Connection> tx,
      JsonMapper json,
      Clock clock,
      MeterRegistry metrics) {
    this.db = db;
    this.tx = tx;
    this.json = json;
    this.clock = clock;
    this.metrics = metrics;
    metrics.gauge("xds_connected_proxies", connected, Set::size);
    this.propagation =
        Timer.builder("xds_propagation")
            .description(
                "From a revision's commit in Postgres to a proxy's ACK of every type it holds")
            .publishPercentileHistogram()
            .minimumExpectedValue(Duration.ofMillis(1))
            .maximumExpectedValue(Duration.ofSeconds(60))
            .register(metrics);
  }

  /** Where ACKed versions are looked up to learn the revision a proxy applied. */
  public void snapshotsFrom(Function<String, Snapshot> lookup) {
    this.snapshots = lookup;
  }

  public void connected(UUID proxyId, boolean isConnected) {
    if (isConnected) {
      connected.add(proxyId);
    } else {
      connected.remove(proxyId);
      acked.remove(proxyId);
    }
  }

  public boolean isConnected(UUID proxyId) {
    return connected.contains(proxyId);
  }

  /**
   * A proxy ACKed {@code version} of a type. It has applied a revision once every type it holds is
   * at that revision's snapshot version; then the revision is recorded and the propagation latency
   * (commit → this moment) observed, once per proxy and revision.
   */
  public void ack(UUID proxyId, String group, String typeUrl, String version) {
    Map<String, String> holds = acked.computeIfAbsent(proxyId, p -> new ConcurrentHashMap<>());
    holds.put(typeUrl, version);
    Snapshot s = snapshots.apply(group);
    if (s == null) {
      return;
    }
    for (Map.Entry<String, String> held : holds.entrySet()) {
      if (!s.get(held.getKey()).version().equals(held.getValue())) {
        return; // some type is still on an older revision
      }
    }
    Long before = appliedRevisions.put(proxyId, s.revision());
    if (before == null || before != s.revision()) {
      if (s.committedAt() != null) {
        Duration took = Duration.between(s.committedAt(), clock.instant());
        if (!took.isNegative()) {
          propagation.record(took);
        }
      }
      write(
          "update proxies set applied_revision = ?, last_seen_at = ?, status = 'online' where id = ?",
          s.revision(),
          clock.instant(),
          proxyId);
    }
  }

  /** A response went out on a stream (counted per type: a NACK loop would show here). */
  public void sent(String typeUrl) {
    Counter.builder("xds_responses_total")
        .tag("type", typeUrl.substring(typeUrl.lastIndexOf('.') + 1))
        .description("xDS responses sent to proxies")
        .register(metrics)
        .increment();
  }

  public void nack(
      UUID proxyId, String typeUrl, String rejectedVersion, String keptVersion, String detail) {
    Counter.builder("xds_nack_total")
        .tag("type", typeUrl.substring(typeUrl.lastIndexOf('.') + 1))
        .description("Configuration rejected by proxies")
        .register(metrics)
        .increment();
    LOG.warn("Proxy {} rejected {} version {}: {}", proxyId, typeUrl, rejectedVersion, detail);
    Map<String, Object> nack = new LinkedHashMap<>();
    nack.put("typeUrl", typeUrl);
    nack.put("rejectedVersion", rejectedVersion);
    nack.put("keptVersion", keptVersion);
    nack.put("errorDetail", detail.length() > 2000 ? detail.substring(0, 2000) : detail);
    nack.put("at", clock.instant().toString());
    try {
      write(
          "update proxies set last_nack = cast(? as jsonb) where id = ?",
          new String(json.writeValueAsBytes(nack)),
          proxyId);
    } catch (IOException e) {
      LOG.error("Could not record a NACK of proxy {}", proxyId, e);
    }
  }

  private void write(String sql, Object... params) {
    try {
      tx.executeWrite(s -> db.update(sql, params));
    } catch (RuntimeException e) {
      LOG.warn("Could not record proxy status: {}", e.getMessage());
    }
  }
}
