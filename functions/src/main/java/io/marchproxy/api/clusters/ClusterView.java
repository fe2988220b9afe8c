package io.marchproxy.api.clusters;

import io.marchproxy.core.db.Db;
import io.micronaut.serde.annotation.Serdeable;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.UUID;

@Serdeable
public record ClusterView(
    UUID id,
    String name,
    String description,
    long currentRevision,
    long version,
    Instant createdAt,
    Instant updatedAt) {

  static final String COLUMNS =
      "id, name, description, current_revision, version, created_at, updated_at";

  static ClusterView map(ResultSet rs) throws SQLException {
    return new ClusterView(
        Db.uuid(rs, "id"),
        rs.getString("name"),
        rs.getString("description"),
        rs.getLong("current_revision"),
        rs.getLong("version"),
        Db.instant(rs, "created_at"),
        Db.instant(rs, "updated_at"));
  }
}
