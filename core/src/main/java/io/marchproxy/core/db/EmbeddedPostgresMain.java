package io.marchproxy.core.db;

import java.util.concurrent.CountDownLatch;

/**
 * Runs the embedded Postgres as its own process, so that several MarchProxy processes ({@code
 * ./marchproxy up}) share one database. Prints one {@code READY <jdbc-url>} line on stdout once
 * connections are accepted and stops Postgres on SIGTERM/SIGINT.
 */
public final class EmbeddedPostgresMain {

  private EmbeddedPostgresMain() {}

  public static void main(String[] args) throws InterruptedException {
    DatabaseSettings settings = DatabaseSettings.fromEnvironment();
    EmbeddedPostgresServer server;
    try {
      server =
          EmbeddedPostgresServer.start(settings.embeddedDataDirectory(), settings.embeddedPort());
    } catch (RuntimeException e) {
      System.err.println("marchproxy: embedded Postgres failed to start: " + e.getMessage());
      System.exit(1);
      return;
    }
    var stopped = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  server.close();
                  stopped.countDown();
                },
                "embedded-postgres-stop"));
    System.out.println(
        "READY "
            + server.jdbcUrl()
            + (server.freshlyInitialized() ? " initialized " : " reused ")
            + server.dataDirectory());
    System.out.flush();
    stopped.await();
  }
}
