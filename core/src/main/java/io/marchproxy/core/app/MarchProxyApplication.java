package io.marchproxy.core.app;

import io.marchproxy.core.db.DatabaseSettings;
import io.marchproxy.core.db.EmbeddedPostgresServer;
import io.marchproxy.core.db.RunningPostgres;
import io.micronaut.context.ApplicationContext;
import io.micronaut.runtime.Micronaut;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Starts a MarchProxy Micronaut application on its database: the external Postgres when one is
 * configured, else an embedded one that is stopped only after the application context (and so its
 * connection pool) has closed.
 */
public final class MarchProxyApplication {

  private static final Logger LOG = LoggerFactory.getLogger(MarchProxyApplication.class);
  private static final Duration CONTEXT_STOP_WAIT = Duration.ofSeconds(30);

  private MarchProxyApplication() {}

  public static ApplicationContext run(Class<?> mainClass, String[] args) {
    DatabaseSettings settings = DatabaseSettings.fromEnvironment();
    EmbeddedPostgresServer embedded = null;
    Map<String, Object> properties = Map.of();
    if (settings.externalUrl().isEmpty()) {
      Optional<String> shared = RunningPostgres.jdbcUrl(settings.embeddedDataDirectory());
      if (shared.isPresent()) {
        LOG.info("Using the embedded Postgres already running on {}", shared.get());
        properties =
            Map.of(
                "datasources.default.url",
                shared.get(),
                "datasources.default.username",
                EmbeddedPostgresServer.USER);
      } else {
        embedded =
            EmbeddedPostgresServer.start(settings.embeddedDataDirectory(), settings.embeddedPort());
        LOG.info(
            "Started embedded Postgres on {} with data in {}",
            embedded.jdbcUrl(),
            embedded.dataDirectory());
        properties = DatabaseSettings.datasourceProperties(embedded);
      }
    }
    ApplicationContext context;
    try {
      context = Micronaut.build(args).mainClass(mainClass).properties(properties).start();
    } catch (RuntimeException e) {
      if (embedded != null) {
        embedded.close();
      }
      throw e;
    }
    if (embedded != null) {
      EmbeddedPostgresServer server = embedded;
      Runtime.getRuntime()
          .addShutdownHook(
              new Thread(
                  () -> {
                    awaitStopped(context);
                    server.close();
                  },
                  "embedded-postgres-stop"));
    }
    return context;
  }

  /** Micronaut's own shutdown hook stops the context; Postgres must outlive the pool. */
  private static void awaitStopped(ApplicationContext context) {
    Instant deadline = Instant.now().plus(CONTEXT_STOP_WAIT);
    while (context.isRunning() && Instant.now().isBefore(deadline)) {
      try {
        Thread.sleep(20);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }
}
