package io.marchproxy.core.testing;

import io.marchproxy.core.db.EmbeddedPostgresServer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Map;
import java.util.UUID;

/**
 * One real Postgres per test JVM (the same embedded server the product runs), with a fresh database
 * per caller so tests never see each other's rows.
 */
public final class TestPostgres {

  private static EmbeddedPostgresServer server;

  private TestPostgres() {}

  public static synchronized EmbeddedPostgresServer server() {
    if (server == null) {
      try {
        Path dir = Files.createTempDirectory("marchproxy-test-pg");
        server = EmbeddedPostgresServer.start(dir.resolve("pg"), 0);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      EmbeddedPostgresServer started = server;
      Runtime.getRuntime().addShutdownHook(new Thread(started::close, "test-postgres-stop"));
    }
    return server;
  }

  /** Creates an empty database and returns its JDBC URL. */
  public static String newDatabase() {
    String name = "t_" + UUID.randomUUID().toString().replace("-", "");
    try (Connection c = connect(server().jdbcUrl());
        Statement s = c.createStatement()) {
      s.execute("create database " + name);
    } catch (SQLException e) {
      throw new IllegalStateException("could not create test database", e);
    }
    return "jdbc:postgresql://localhost:" + server().port() + "/" + name;
  }

  /** Micronaut properties for a fresh database. */
  public static Map<String, String> datasourceProperties() {
    return Map.of(
        "datasources.default.url",
        newDatabase(),
        "datasources.default.username",
        EmbeddedPostgresServer.USER,
        "datasources.default.password",
        "");
  }

  public static Connection connect(String jdbcUrl) throws SQLException {
    return DriverManager.getConnection(jdbcUrl, EmbeddedPostgresServer.USER, "");
  }
}
