package io.marchproxy.xds.report;

import io.marchproxy.core.db.Db;
import io.marchproxy.xds.cache.Snapshot;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micronaut.json.JsonMapper;
import io.micronaut.transaction.TransactionOperations;
import jakarta.inject.Singleton;
import java.io.IOException;
import java.sql.Connection;
import java.time.Clock;
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
    }
  }

  public boolean isConnected(UUID proxyId) {
    return connected.contains(proxyId);
  }

  public void ack(UUID proxyId, String group, String typeUrl, String version) {
    Snapshot s = snapshots.apply(group);
    if (s == null || !s.get(typeUrl).version().equals(version)) {
      return;
    }
    Long before = appliedRevisions.put(proxyId, s.revision());
    if (before == null || before != s.revision()) {
      write(
          "update proxies set applied_revision = ?, last_seen_at = ?, status = 'online' where id = ?",
          s.revision(),
          clock.instant(),
          proxyId);
    }
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
