package io.marchproxy.core.ops;

import io.micronaut.jdbc.DataSourceResolver;
import jakarta.inject.Inject;
import jakarta.inject.Singleton;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import javax.sql.DataSource;
import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.MigrationInfo;

/** Ready when Postgres answers and every migration shipped in this build has been applied. */
@Singleton
final class DatabaseReadiness implements ReadinessCheck {

  private static final int QUERY_TIMEOUT_SECONDS = 2;

  private final DataSource dataSource;
  private volatile String appliedVersion;

  /** Uses the pool itself: the injected DataSource is bound to Micronaut's transactions. */
  @Inject
  DatabaseReadiness(DataSource dataSource, DataSourceResolver resolver) {
    this(resolver.resolve(dataSource));
  }

  DatabaseReadiness(DataSource dataSource) {
    this.dataSource = dataSource;
  }

  @Override
  public String name() {
    return "database";
  }

  @Override
  public Result check() {
    try (Connection c = dataSource.getConnection();
        Statement s = c.createStatement()) {
      s.setQueryTimeout(QUERY_TIMEOUT_SECONDS);
      try (ResultSet rs = s.executeQuery("select 1")) {
        rs.next();
      }
    } catch (SQLException e) {
      return Result.notReady("database unreachable: " + e.getMessage());
    }
    if (appliedVersion == null) {
      // Migrations never un-apply, so once they are all in this check stays cheap.
      Flyway flyway = Flyway.configure().dataSource(dataSource).load();
      MigrationInfo[] pending = flyway.info().pending();
      if (pending.length > 0) {
        return Result.notReady(
            pending.length + " migration(s) pending, next " + pending[0].getVersion());
      }
      MigrationInfo current = flyway.info().current();
      if (current == null) {
        return Result.notReady("schema not migrated");
      }
      appliedVersion = current.getVersion().getVersion();
    }
    return Result.ok("schema version " + appliedVersion);
  }
}
