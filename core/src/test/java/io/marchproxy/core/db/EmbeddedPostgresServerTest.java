package io.marchproxy.core.db;

import static org.assertj.core.api.Assertions.assertThat;

import io.marchproxy.core.testing.TestPostgres;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EmbeddedPostgresServerTest {

  @TempDir Path home;

  @Test
  void dataSurvivesARestartOnTheSameDirectory() throws Exception {
    Path data = home.resolve("pg");
    try (var first = EmbeddedPostgresServer.start(data, 0)) {
      assertThat(first.freshlyInitialized()).isTrue();
      try (Connection c = TestPostgres.connect(first.jdbcUrl());
          Statement s = c.createStatement()) {
        s.execute("create table marker (v text)");
        s.execute("insert into marker values ('kept')");
      }
    }
    assertThat(data.resolve("postmaster.pid")).doesNotExist();

    try (var second = EmbeddedPostgresServer.start(data, 0)) {
      assertThat(second.freshlyInitialized()).isFalse();
      try (Connection c = TestPostgres.connect(second.jdbcUrl());
          Statement s = c.createStatement();
          ResultSet rs = s.executeQuery("select v from marker")) {
        assertThat(rs.next()).isTrue();
        assertThat(rs.getString(1)).isEqualTo("kept");
      }
      assertThat(RunningPostgres.jdbcUrl(data)).contains(second.jdbcUrl());
    }
    assertThat(RunningPostgres.jdbcUrl(data)).isEmpty();
  }

  @Test
  void aStalePidFileIsNotMistakenForARunningServer() throws Exception {
    Path data = Files.createDirectories(home.resolve("stale"));
    // pid 2^22+1 is above pid_max's default, so no process can have it.
    Files.writeString(data.resolve("postmaster.pid"), "4194305\n/x\n0\n15432\n");
    assertThat(RunningPostgres.jdbcUrl(data)).isEmpty();
  }
}
