package io.marchproxy.core.db;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * Finds a Postgres that another MarchProxy process already runs on a data directory, from the
 * server's own {@code postmaster.pid} (line 1: pid, line 4: port).
 */
public final class RunningPostgres {

  private RunningPostgres() {}

  public static Optional<String> jdbcUrl(Path dataDirectory) {
    Path pidFile = dataDirectory.resolve("postmaster.pid");
    if (!Files.isRegularFile(pidFile)) {
      return Optional.empty();
    }
    try {
      List<String> lines = Files.readAllLines(pidFile);
      if (lines.size() < 4) {
        return Optional.empty();
      }
      long pid = Long.parseLong(lines.get(0).trim());
      int port = Integer.parseInt(lines.get(3).trim());
      boolean alive = ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
      return alive
          ? Optional.of(
              "jdbc:postgresql://localhost:" + port + "/" + EmbeddedPostgresServer.DATABASE)
          : Optional.empty();
    } catch (IOException | NumberFormatException e) {
      return Optional.empty();
    }
  }
}
