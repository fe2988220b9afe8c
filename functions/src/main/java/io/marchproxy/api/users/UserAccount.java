package io.marchproxy.api.users;

import io.marchproxy.core.db.Db;
import io.marchproxy.core.users.Role;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.stream.Collectors;

/** A row of {@code users} as the API works with it (the hash stays inside the service). */
public record UserAccount(
    UUID id,
    String username,
    String passwordHash,
    Role role,
    Set<UUID> allowedClusters,
    boolean disabled,
    long version,
    Instant createdAt,
    Instant updatedAt) {

  public static final String COLUMNS =
      "id, username, password_hash, role, allowed_clusters, disabled, version, created_at, updated_at";

  public static UserAccount map(ResultSet rs) throws SQLException {
    List<String> clusters = Db.strings(rs, "allowed_clusters");
    return new UserAccount(
        Db.uuid(rs, "id"),
        rs.getString("username"),
        rs.getString("password_hash"),
        Role.valueOf(rs.getString("role")),
        clusters == null
            ? null
            : clusters.stream().map(UUID::fromString).collect(Collectors.toUnmodifiableSet()),
        rs.getBoolean("disabled"),
        rs.getLong("version"),
        Db.instant(rs, "created_at"),
        Db.instant(rs, "updated_at"));
  }

  @Override
  public String toString() {
    return "UserAccount[" + username + ", " + role + "]";
  }
}
