package io.marchproxy.core.db;

import io.micronaut.data.jdbc.runtime.JdbcOperations;
import jakarta.inject.Singleton;
import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.sql.Types;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.UUID;

/**
 * Plain SQL on the current transaction's connection. Services own their SQL; this only binds
 * parameters and maps rows.
 */
@Singleton
public final class Db {

  /** Maps the current row; may throw. */
  @FunctionalInterface
  public interface RowMapper<T> {
    T map(ResultSet rs) throws SQLException;
  }

  /** Marks a JSON parameter (bound as jsonb). */
  public record Json(String text) {}

  private final JdbcOperations jdbc;

  public Db(JdbcOperations jdbc) {
    this.jdbc = jdbc;
  }

  public <T> List<T> list(String sql, RowMapper<T> mapper, Object... params) {
    return jdbc.prepareStatement(
        sql,
        ps -> {
          bind(ps, params);
          try (ResultSet rs = ps.executeQuery()) {
            List<T> out = new ArrayList<>();
            while (rs.next()) {
              out.add(mapper.map(rs));
            }
            return out;
          }
        });
  }

  public <T> Optional<T> one(String sql, RowMapper<T> mapper, Object... params) {
    List<T> rows = list(sql, mapper, params);
    if (rows.size() > 1) {
      throw new IllegalStateException("expected at most one row, got " + rows.size());
    }
    return rows.isEmpty() ? Optional.empty() : Optional.ofNullable(rows.getFirst());
  }

  public int update(String sql, Object... params) {
    return jdbc.prepareStatement(
        sql,
        ps -> {
          bind(ps, params);
          return ps.executeUpdate();
        });
  }

  public Connection connection() {
    return jdbc.getConnection();
  }

  private void bind(PreparedStatement ps, Object[] params) throws SQLException {
    for (int i = 0; i < params.length; i++) {
      Object p = params[i];
      int idx = i + 1;
      switch (p) {
        case null -> ps.setNull(idx, Types.NULL);
        case Instant t -> ps.setTimestamp(idx, Timestamp.from(t));
        case Json j -> ps.setObject(idx, j.text(), Types.OTHER);
        case UUID u -> ps.setObject(idx, u);
        case Enum<?> e -> ps.setString(idx, e.name());
        case Collection<?> c -> ps.setArray(idx, array(ps.getConnection(), c));
        default -> ps.setObject(idx, p);
      }
    }
  }

  private static Array array(Connection c, Collection<?> values) throws SQLException {
    boolean uuids = !values.isEmpty() && values.iterator().next() instanceof UUID;
    return c.createArrayOf(uuids ? "uuid" : "text", values.toArray());
  }

  public static Instant instant(ResultSet rs, String column) throws SQLException {
    Timestamp t = rs.getTimestamp(column);
    return t == null ? null : t.toInstant();
  }

  public static UUID uuid(ResultSet rs, String column) throws SQLException {
    return rs.getObject(column, UUID.class);
  }

  public static List<String> strings(ResultSet rs, String column) throws SQLException {
    Array a = rs.getArray(column);
    if (a == null) {
      return null;
    }
    List<String> out = new ArrayList<>();
    for (Object o : (Object[]) a.getArray()) {
      out.add(o.toString());
    }
    return out;
  }
}
