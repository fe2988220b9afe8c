package io.marchproxy.core.db;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;

class DatabaseSettingsTest {

  @Test
  void embeddedByDefaultUnderDotMarchproxy() {
    var s = DatabaseSettings.from(k -> null, k -> null);
    assertThat(s.externalUrl()).isEmpty();
    assertThat(s.embeddedDataDirectory()).isEqualTo(Path.of(".marchproxy/pg").toAbsolutePath());
    assertThat(s.embeddedPort()).isEqualTo(15432);
  }

  @Test
  void externalUrlFromEnvironmentOrSystemProperty() {
    var env = Map.of("DATASOURCES_DEFAULT_URL", "jdbc:postgresql://db/env");
    assertThat(DatabaseSettings.from(env::get, k -> null).externalUrl())
        .contains("jdbc:postgresql://db/env");
    var props = Map.of("datasources.default.url", "jdbc:postgresql://db/prop");
    assertThat(DatabaseSettings.from(env::get, props::get).externalUrl())
        .contains("jdbc:postgresql://db/prop");
    assertThat(
            DatabaseSettings.from(Map.of("DATASOURCES_DEFAULT_URL", " ")::get, k -> null)
                .externalUrl())
        .isEmpty();
  }

  @Test
  void homeAndPortFromEnvironment() {
    var env = Map.of("MARCHPROXY_HOME", "/srv/mp", "MARCHPROXY_PG_PORT", "6543");
    var s = DatabaseSettings.from(env::get, k -> null);
    assertThat(s.embeddedDataDirectory()).isEqualTo(Path.of("/srv/mp/pg"));
    assertThat(s.embeddedPort()).isEqualTo(6543);
  }

  @Test
  void badPortIsAClearError() {
    assertThatThrownBy(
            () -> DatabaseSettings.from(Map.of("MARCHPROXY_PG_PORT", "abc")::get, k -> null))
        .hasMessageContaining("MARCHPROXY_PG_PORT must be a port number, got: abc");
    assertThatThrownBy(
            () -> DatabaseSettings.from(Map.of("MARCHPROXY_PG_PORT", "70000")::get, k -> null))
        .hasMessageContaining("0..65535");
  }
}
