package io.marchproxy.core.db;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.marchproxy.core.testing.TestPostgres;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.UUID;
import org.flywaydb.core.Flyway;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;

/** The shipped migrations against a real Postgres 17. */
class SchemaTest {

  private String url;

  @BeforeEach
  void migrate() {
    url = TestPostgres.newDatabase();
    Flyway.configure().dataSource(url, EmbeddedPostgresServer.USER, "").load().migrate();
  }

  @Test
  void aCommittedRevisionNotifiesListenersWithClusterAndRevision() throws Exception {
    UUID cluster = UUID.randomUUID();
    try (Connection listener = TestPostgres.connect(url);
        Connection writer = TestPostgres.connect(url)) {
      try (Statement s = listener.createStatement()) {
        s.execute("listen config_changed");
      }
      insertCluster(writer, cluster, "edge");
      writer.setAutoCommit(false);
      insertRevision(writer, cluster, 1);
      PGConnection pg = listener.unwrap(PGConnection.class);
      assertThat(pg.getNotifications(200)).as("nothing before commit").isNullOrEmpty();
      writer.commit();

      PGNotification[] received = pg.getNotifications(5000);
      assertThat(received).hasSize(1);
      assertThat(received[0].getName()).isEqualTo("config_changed");
      assertThat(received[0].getParameter())
          .contains("\"cluster_id\" : \"" + cluster + "\"")
          .contains("\"revision\" : 1");
    }
  }

  @Test
  void revisionsAreAppendOnly() throws Exception {
    UUID cluster = UUID.randomUUID();
    try (Connection c = TestPostgres.connect(url)) {
      insertCluster(c, cluster, "edge");
      insertRevision(c, cluster, 1);
      assertThatThrownBy(
              () -> {
                try (Statement s = c.createStatement()) {
                  s.executeUpdate("update config_revisions set document = '{}'");
                }
              })
          .isInstanceOf(SQLException.class)
          .hasMessageContaining("append-only");
    }
  }

  @Test
  void namesAndRolesAreCheckedByTheSchema() throws Exception {
    try (Connection c = TestPostgres.connect(url)) {
      assertThatThrownBy(() -> insertCluster(c, UUID.randomUUID(), "Bad_Name"))
          .isInstanceOf(SQLException.class)
          .hasMessageContaining("clusters_name_check");
      assertThatThrownBy(
              () -> {
                try (PreparedStatement p =
                    c.prepareStatement(
                        "insert into users (id, username, password_hash, role)"
                            + " values (?, 'ops', 'x', 'root')")) {
                  p.setObject(1, UUID.randomUUID());
                  p.executeUpdate();
                }
              })
          .isInstanceOf(SQLException.class)
          .hasMessageContaining("users_role_check");
    }
  }

  private static void insertCluster(Connection c, UUID id, String name) throws SQLException {
    try (PreparedStatement p =
        c.prepareStatement("insert into clusters (id, name) values (?, ?)")) {
      p.setObject(1, id);
      p.setString(2, name);
      p.executeUpdate();
    }
  }

  private static void insertRevision(Connection c, UUID cluster, long revision)
      throws SQLException {
    try (PreparedStatement p =
        c.prepareStatement(
            "insert into config_revisions (cluster_id, revision, document, content_hash)"
                + " values (?, ?, '{}', ?)")) {
      p.setObject(1, cluster);
      p.setLong(2, revision);
      p.setString(3, "a".repeat(64));
      p.executeUpdate();
    }
  }
}
