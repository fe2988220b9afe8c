package io.marchproxy.core.db;

import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;

/**
 * Where the database is: an external Postgres when {@code DATASOURCES_DEFAULT_URL} (or the system
 * property {@code datasources.default.url}) is set, else the embedded one under {@code
 * MARCHPROXY_HOME} (default {@code .marchproxy}).
 */
public record DatabaseSettings(Optional<String> externalUrl, Path home, int embeddedPort) {

  public static final String URL_ENV = "DATASOURCES_DEFAULT_URL";
  public static final String URL_PROPERTY = "datasources.default.url";
  public static final String HOME_ENV = "MARCHPROXY_HOME";
  public static final String PG_PORT_ENV = "MARCHPROXY_PG_PORT";
  public static final int DEFAULT_PG_PORT = 15432;

  public static DatabaseSettings fromEnvironment() {
    return from(System::getenv, System.getProperties()::getProperty);
  }

  static DatabaseSettings from(Function<String, String> env, Function<String, String> sysProps) {
    Optional<String> url =
        Optional.ofNullable(sysProps.apply(URL_PROPERTY))
            .or(() -> Optional.ofNullable(env.apply(URL_ENV)))
            .filter(s -> !s.isBlank());
    Path home = Path.of(Optional.ofNullable(env.apply(HOME_ENV)).orElse(".marchproxy"));
    String port = env.apply(PG_PORT_ENV);
    int pgPort;
    try {
      pgPort = port == null || port.isBlank() ? DEFAULT_PG_PORT : Integer.parseInt(port.trim());
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(PG_PORT_ENV + " must be a port number, got: " + port);
    }
    if (pgPort < 0 || pgPort > 65535) {
      throw new IllegalArgumentException(PG_PORT_ENV + " must be 0..65535, got: " + pgPort);
    }
    return new DatabaseSettings(url, home.toAbsolutePath().normalize(), pgPort);
  }

  public Path embeddedDataDirectory() {
    return home.resolve("pg");
  }

  /** Micronaut properties that point the default datasource at an embedded server. */
  public static Map<String, Object> datasourceProperties(EmbeddedPostgresServer server) {
    return Map.of(
        "datasources.default.url",
        server.jdbcUrl(),
        "datasources.default.username",
        EmbeddedPostgresServer.USER,
        "datasources.default.password",
        "");
  }
}
