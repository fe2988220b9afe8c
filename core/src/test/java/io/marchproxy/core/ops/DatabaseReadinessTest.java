package io.marchproxy.core.ops;

import static org.assertj.core.api.Assertions.assertThat;

import io.marchproxy.core.db.EmbeddedPostgresServer;
import io.marchproxy.core.testing.TestPostgres;
import java.net.ServerSocket;
import org.flywaydb.core.Flyway;
import org.junit.jupiter.api.Test;
import org.postgresql.ds.PGSimpleDataSource;

class DatabaseReadinessTest {

  private static PGSimpleDataSource dataSource(String url) {
    var ds = new PGSimpleDataSource();
    ds.setUrl(url);
    ds.setUser(EmbeddedPostgresServer.USER);
    ds.setConnectTimeout(2);
    return ds;
  }

  @Test
  void notReadyUntilMigratedThenReady() {
    String url = TestPostgres.newDatabase();
    var check = new DatabaseReadiness(dataSource(url));
    assertThat(check.check().ready()).isFalse();
    assertThat(check.check().detail()).contains("pending");

    Flyway.configure().dataSource(dataSource(url)).load().migrate();
    assertThat(check.check().ready()).isTrue();
    assertThat(check.check().detail()).matches("schema version \\d+");
  }

  @Test
  void notReadyWhenTheDatabaseIsUnreachable() throws Exception {
    int closedPort;
    try (var s = new ServerSocket(0)) {
      closedPort = s.getLocalPort();
    }
    var check =
        new DatabaseReadiness(dataSource("jdbc:postgresql://localhost:" + closedPort + "/x"));
    ReadinessCheck.Result result = check.check();
    assertThat(result.ready()).isFalse();
    assertThat(result.detail()).startsWith("database unreachable:");
  }
}
