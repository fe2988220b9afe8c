package io.marchproxy.api.proxies;

import io.marchproxy.core.db.Db;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.serde.annotation.Serdeable;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.UUID;

/** A registered proxy and what it last reported. */
@Serdeable
public record ProxyView(
    UUID id,
    UUID clusterId,
    String name,
    String kind,
    String hostname,
    String region,
    String zone,
    String version,
    String status,
    Instant registeredAt,
    Instant lastSeenAt,
    @Nullable Long appliedRevision,
    @Nullable Object lastNack,
    @Nullable Object xds) {

  /**
   * Status derived from the last heartbeat, so every reader (and Lambda) agrees without a sweeper.
   */
  static String columns(long staleSeconds, long offlineSeconds) {
    return "id, cluster_id, name, kind, hostname, region, zone, software_version, registered_at, last_seen_at,"
        + " applied_revision, last_nack::text as last_nack, xds::text as xds,"
        + " case when last_seen_at > now() - interval '"
        + staleSeconds
        + " seconds' then 'online'"
        + " when last_seen_at > now() - interval '"
        + offlineSeconds
        + " seconds' then 'stale' else 'offline' end as live_status";
  }

  static ProxyView map(ResultSet rs, io.marchproxy.core.config.ClusterConfigRenderer json)
      throws SQLException {
    String nack = rs.getString("last_nack");
    String xds = rs.getString("xds");
    return new ProxyView(
        Db.uuid(rs, "id"),
        Db.uuid(rs, "cluster_id"),
        rs.getString("name"),
        rs.getString("kind"),
        rs.getString("hostname"),
        rs.getString("region"),
        rs.getString("zone"),
        rs.getString("software_version"),
        rs.getString("live_status"),
        Db.instant(rs, "registered_at"),
        Db.instant(rs, "last_seen_at"),
        (Long) rs.getObject("applied_revision"),
        nack == null ? null : json.parse(nack, Object.class),
        xds == null ? null : json.parse(xds, Object.class));
  }
}
