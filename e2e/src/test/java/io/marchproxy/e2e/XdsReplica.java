package io.marchproxy.e2e;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * One more xds-service process next to what {@code ./marchproxy up} started: the same jar, the same
 * Postgres and master key, its own ports. Tests kill and restart it, and compare it with the
 * stack's own replica.
 */
final class XdsReplica implements AutoCloseable {

  final int grpcPort;
  final int httpPort;
  private final Process process;
  private final Path log;

  private XdsReplica(int grpcPort, int httpPort, Process process, Path log) {
    this.grpcPort = grpcPort;
    this.httpPort = httpPort;
    this.process = process;
    this.log = log;
  }

  static XdsReplica start(MarchproxyUp up, int grpcPort, int httpPort) throws Exception {
    Path log = Files.createTempFile(up.home, "xds-replica-", ".log");
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    var pb =
        new ProcessBuilder(
            List.of(
                java,
                "--enable-native-access=ALL-UNNAMED",
                "--sun-misc-unsafe-memory-access=allow",
                "-XX:+UseSerialGC",
                "-XX:TieredStopAtLevel=1",
                "-jar",
                MarchproxyUp.ROOT.resolve("xds-service/target/xds-service.jar").toString()));
    pb.redirectErrorStream(true);
    pb.redirectOutput(log.toFile());
    var env = pb.environment();
    env.put("MARCHPROXY_HOME", up.home.toString());
    env.put("MARCHPROXY_XDS_PORT", String.valueOf(grpcPort));
    env.put("MARCHPROXY_XDS_HTTP_PORT", String.valueOf(httpPort));
    env.put(
        "DATASOURCES_DEFAULT_URL",
        "jdbc:postgresql://localhost:" + up.ports.postgres() + "/postgres");
    env.put("DATASOURCES_DEFAULT_USERNAME", "postgres");
    env.put("DATASOURCES_DEFAULT_PASSWORD", "");
    var replica = new XdsReplica(grpcPort, httpPort, pb.start(), log);
    replica.awaitReady(Duration.ofSeconds(120));
    return replica;
  }

  private void awaitReady(Duration timeout) throws Exception {
    Instant deadline = Instant.now().plus(timeout);
    while (Api.status(httpPort, "/readyz") != 200) {
      if (!process.isAlive()) {
        throw new AssertionError("xds-service replica exited:\n" + Files.readString(log));
      }
      if (Instant.now().isAfter(deadline)) {
        throw new AssertionError("xds-service replica not ready:\n" + Files.readString(log));
      }
      Thread.sleep(200);
    }
  }

  /** SIGKILL: no shutdown hooks, no goodbye to clients, as when a container is lost. */
  void kill() throws Exception {
    process.destroyForcibly();
    process.waitFor(30, TimeUnit.SECONDS);
  }

  @Override
  public void close() throws Exception {
    if (process.isAlive()) {
      process.destroy();
      if (!process.waitFor(30, TimeUnit.SECONDS)) {
        process.destroyForcibly();
      }
    }
  }
}
