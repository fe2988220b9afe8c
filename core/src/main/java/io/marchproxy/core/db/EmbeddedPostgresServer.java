package io.marchproxy.core.db;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/**
 * A real PostgreSQL 17 server run from the zonky binaries, with its data in a directory that
 * survives restarts. Used when no external database is configured, and by tests.
 */
public final class EmbeddedPostgresServer implements AutoCloseable {

  public static final String USER = "postgres";
  public static final String DATABASE = "postgres";

  private final EmbeddedPostgres postgres;
  private final Path dataDirectory;
  private final boolean freshlyInitialized;

  private EmbeddedPostgresServer(
      EmbeddedPostgres postgres, Path dataDirectory, boolean freshlyInitialized) {
    this.postgres = postgres;
    this.dataDirectory = dataDirectory;
    this.freshlyInitialized = freshlyInitialized;
  }

  /**
   * Starts Postgres on {@code port} (0 picks a free one) with its data in {@code dataDirectory},
   * initializing the directory only when it holds no cluster yet.
   */
  public static EmbeddedPostgresServer start(Path dataDirectory, int port) {
    try {
      Files.createDirectories(dataDirectory.getParent());
      boolean fresh = !Files.exists(dataDirectory.resolve("PG_VERSION"));
      var builder =
          EmbeddedPostgres.builder()
              .setDataDirectory(dataDirectory)
              .setCleanDataDirectory(false)
              // Our own shutdown path closes Postgres after the connection pool; zonky's hook
              // would race it.
              .setRegisterShutdownHook(false)
              .setPGStartupWait(Duration.ofSeconds(60))
              .setServerConfig("synchronous_commit", "on")
              .setServerConfig("max_connections", "200")
              .setServerConfig("listen_addresses", "localhost");
      if (port > 0) {
        builder.setPort(port);
      }
      return new EmbeddedPostgresServer(builder.start(), dataDirectory, fresh);
    } catch (IOException e) {
      throw new UncheckedIOException(
          "Could not start embedded Postgres with data in " + dataDirectory + ": " + e.getMessage(),
          e);
    }
  }

  public int port() {
    return postgres.getPort();
  }

  public String jdbcUrl() {
    return "jdbc:postgresql://localhost:" + port() + "/" + DATABASE;
  }

  public Path dataDirectory() {
    return dataDirectory;
  }

  /** True when this start created the database cluster (the first start on this directory). */
  public boolean freshlyInitialized() {
    return freshlyInitialized;
  }

  @Override
  public void close() {
    try {
      postgres.close();
    } catch (IOException e) {
      throw new UncheckedIOException("Could not stop embedded Postgres: " + e.getMessage(), e);
    }
  }
}
