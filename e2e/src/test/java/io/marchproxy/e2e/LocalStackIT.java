package io.marchproxy.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The local stack exactly as {@code ./marchproxy up} runs it. */
class LocalStackIT {

  private static final Duration STARTUP = Duration.ofSeconds(240);
  private static final HttpClient HTTP =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  @TempDir Path home;

  @Test
  void upReachesReadyStopsEverythingAndKeepsDataAcrossRestarts() throws Exception {
    var ports = MarchproxyUp.Ports.free();
    String adminId;
    List<ProcessHandle> firstRun;
    try (var up = MarchproxyUp.start(home, ports, Map.of()).awaitUp(STARTUP)) {
      assertThat(up.output())
          .contains("REST API + UI   http://localhost:" + ports.api())
          .contains("xDS gRPC        localhost:" + ports.xds())
          .contains("xds-service     http://localhost:" + ports.xdsHttp());
      assertThat(up.generatedAdminPassword()).hasValueSatisfying(p -> assertThat(p).hasSize(20));
      assertThat(get(ports.api(), "/readyz")).isEqualTo(200);
      assertThat(get(ports.xdsHttp(), "/readyz")).isEqualTo(200);
      assertThat(get(ports.api(), "/healthz")).isEqualTo(200);

      try (Connection c = postgres(ports);
          Statement s = c.createStatement()) {
        adminId = single(s, "select id from users where username = 'admin'");
      }
      // The README's walkthrough, run as a user runs it, against this stack.
      String password = up.generatedAdminPassword().orElseThrow();
      var walk = walkthrough(ports, password);
      assertThat(walk.exitCode()).as("walkthrough output:%n%s", walk.output()).isZero();
      assertThat(walk.output())
          .contains("== Register a proxy with that key")
          .contains("\"kind\":\"l4\"")
          .contains("cluster demo is at revision 5");
      firstRun = up.processes();
      assertThat(firstRun).hasSizeGreaterThanOrEqualTo(5); // script, 3 JVMs, postmaster
      assertThat(up.stop()).as("exit code after SIGTERM").isZero();
      assertThat(up.output()).contains("marchproxy: stopped");
    }
    assertThat(firstRun).noneMatch(ProcessHandle::isAlive);
    assertThat(home.resolve("pg/postmaster.pid")).doesNotExist();
    for (int port : new int[] {ports.api(), ports.xds(), ports.xdsHttp(), ports.postgres()}) {
      assertThat(listening(port)).as("port %d after stop", port).isFalse();
    }

    try (var up = MarchproxyUp.start(home, ports, Map.of()).awaitUp(STARTUP)) {
      assertThat(up.generatedAdminPassword()).as("no new admin on the second run").isEmpty();
      assertThat(up.output()).contains("existing users kept");
      try (Connection c = postgres(ports);
          Statement s = c.createStatement()) {
        assertThat(single(s, "select id from users where username = 'admin'")).isEqualTo(adminId);
        assertThat(single(s, "select count(*) from users")).isEqualTo("1");
        assertThat(single(s, "select name || '@' || current_revision from clusters"))
            .isEqualTo("demo@5");
        assertThat(single(s, "select count(*) from config_revisions")).isEqualTo("5");
      }
      List<ProcessHandle> secondRun = up.processes();
      assertThat(up.stop()).isZero();
      assertThat(secondRun).noneMatch(ProcessHandle::isAlive);
    }
  }

  @Test
  void aPortInUseIsNamedAndNothingStarts() throws Exception {
    var ports = MarchproxyUp.Ports.free();
    try (var taken = new ServerSocket(ports.xdsHttp());
        var up = MarchproxyUp.start(home, ports, Map.of())) {
      assertThat(up.awaitExit(Duration.ofSeconds(60))).isEqualTo(1);
      assertThat(up.output())
          .contains(
              "port "
                  + ports.xdsHttp()
                  + " for the xds-service HTTP (MARCHPROXY_XDS_HTTP_PORT) is already in use");
      assertThat(home.resolve("pg")).doesNotExist();
    }
  }

  @Test
  void withoutAJdk25ItSaysWhatItNeeds() throws Exception {
    var env =
        MarchproxyUp.env("JAVA_HOME", "/nonexistent-jdk", "MARCHPROXY_JDK_CANDIDATES", "/nowhere");
    try (var up = MarchproxyUp.start(home, MarchproxyUp.Ports.free(), env)) {
      assertThat(up.awaitExit(Duration.ofSeconds(30))).isEqualTo(1);
      assertThat(up.output()).contains("MarchProxy needs a JDK 25 or newer");
    }
  }

  record Run(int exitCode, String output) {}

  private static Run walkthrough(MarchproxyUp.Ports ports, String password) throws Exception {
    var pb = new ProcessBuilder(MarchproxyUp.ROOT.resolve("docs/walkthrough.sh").toString());
    pb.environment().put("API", "http://localhost:" + ports.api());
    pb.environment().put("ADMIN_PASSWORD", password);
    pb.redirectErrorStream(true);
    Process p = pb.start();
    String out =
        new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
    if (!p.waitFor(120, java.util.concurrent.TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new AssertionError("walkthrough did not finish:\n" + out);
    }
    return new Run(p.exitValue(), out);
  }

  private static int get(int port, String path) throws Exception {
    var request =
        HttpRequest.newBuilder(URI.create("http://localhost:" + port + path))
            .timeout(Duration.ofSeconds(10))
            .build();
    return HTTP.send(request, HttpResponse.BodyHandlers.discarding()).statusCode();
  }

  private static Connection postgres(MarchproxyUp.Ports ports) throws Exception {
    return DriverManager.getConnection(
        "jdbc:postgresql://localhost:" + ports.postgres() + "/postgres", "postgres", "");
  }

  private static String single(Statement s, String sql) throws Exception {
    try (ResultSet rs = s.executeQuery(sql)) {
      assertThat(rs.next()).as(sql).isTrue();
      return rs.getString(1);
    }
  }

  private static boolean listening(int port) {
    try (var socket = new Socket("localhost", port)) {
      return true;
    } catch (java.io.IOException e) {
      return false;
    }
  }
}
