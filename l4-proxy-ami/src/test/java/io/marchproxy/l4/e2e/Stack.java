package io.marchproxy.l4.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.marchproxy.l4.testing.Xds;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The real control plane as processes, the way {@code ./marchproxy up} runs it: the embedded
 * Postgres, xds-service and the REST API from their built jars, on free ports, with a state
 * directory of their own. xds-service can be stopped and started again; everything stops at close.
 */
final class Stack implements AutoCloseable {

  static final Path ROOT =
      Path.of(System.getProperty("marchproxy.root", "..")).toAbsolutePath().normalize();
  static final String ADMIN_PASSWORD = "l4-e2e-admin-password";
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient HTTP =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  final Path home;
  final int apiPort = Xds.freePort();
  final int xdsPort = Xds.freePort();
  final int xdsHttpPort = Xds.freePort();
  final int pgPort = Xds.freePort();
  private Process postgres;
  private Process xds;
  private Process api;
  private final List<Process> all = new ArrayList<>();
  private String token;

  Stack(Path home) {
    this.home = home;
  }

  static boolean built() {
    return Files.isRegularFile(ROOT.resolve("functions/target/functions.jar"))
        && Files.isRegularFile(ROOT.resolve("xds-service/target/xds-service.jar"));
  }

  Stack start() throws Exception {
    Files.createDirectories(home.resolve("logs"));
    postgres =
        process(
            "postgres",
            List.of(
                "-cp",
                ROOT.resolve("functions/target/lib") + "/*",
                "io.marchproxy.core.db.EmbeddedPostgresMain"),
            Map.of());
    Instant deadline = Instant.now().plusSeconds(120);
    while (!Files.readString(log("postgres")).contains("READY ")) {
      check(postgres, "postgres", deadline);
      Thread.sleep(200);
    }
    startXds();
    api =
        process(
            "functions",
            List.of("-jar", ROOT.resolve("functions/target/functions.jar").toString()),
            Map.of(
                "MARCHPROXY_API_PORT",
                String.valueOf(apiPort),
                "MARCHPROXY_ADMIN_PASSWORD",
                ADMIN_PASSWORD));
    awaitReady(api, "functions", apiPort);
    return this;
  }

  void startXds() throws Exception {
    xds =
        process(
            "xds-service",
            List.of("-jar", ROOT.resolve("xds-service/target/xds-service.jar").toString()),
            Map.of(
                "MARCHPROXY_XDS_PORT",
                String.valueOf(xdsPort),
                "MARCHPROXY_XDS_HTTP_PORT",
                String.valueOf(xdsHttpPort)));
    awaitReady(xds, "xds-service", xdsHttpPort);
  }

  void stopXds() throws InterruptedException {
    stop(xds);
  }

  private Process process(String name, List<String> args, Map<String, String> env)
      throws IOException {
    List<String> cmd = new ArrayList<>();
    cmd.add(ProcessHandle.current().info().command().orElse("java"));
    cmd.addAll(
        List.of(
            "--enable-native-access=ALL-UNNAMED",
            "--sun-misc-unsafe-memory-access=allow",
            "-XX:+UseSerialGC",
            "-XX:TieredStopAtLevel=1",
            "-Xmx384m"));
    cmd.addAll(args);
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
    pb.redirectOutput(ProcessBuilder.Redirect.appendTo(log(name).toFile()));
    Map<String, String> e = pb.environment();
    e.put("MARCHPROXY_HOME", home.toString());
    e.put("MARCHPROXY_PG_PORT", String.valueOf(pgPort));
    e.put("DATASOURCES_DEFAULT_URL", "jdbc:postgresql://localhost:" + pgPort + "/postgres");
    e.put("DATASOURCES_DEFAULT_USERNAME", "postgres");
    e.put("DATASOURCES_DEFAULT_PASSWORD", "");
    e.putAll(env);
    Process p = pb.start();
    all.add(p);
    return p;
  }

  private Path log(String name) {
    return home.resolve("logs/" + name + ".log");
  }

  private void awaitReady(Process p, String name, int port) throws Exception {
    Instant deadline = Instant.now().plusSeconds(180);
    while (true) {
      check(p, name, deadline);
      try {
        var r =
            HTTP.send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/readyz"))
                    .timeout(Duration.ofSeconds(3))
                    .build(),
                HttpResponse.BodyHandlers.discarding());
        if (r.statusCode() == 200) {
          return;
        }
      } catch (IOException e) {
        // not up yet
      }
      Thread.sleep(300);
    }
  }

  private void check(Process p, String name, Instant deadline) throws IOException {
    if (!p.isAlive() || Instant.now().isAfter(deadline)) {
      String out = Files.readString(log(name));
      throw new AssertionError(
          name
              + (p.isAlive() ? " not ready in time" : " exited")
              + ":\n"
              + out.substring(Math.max(0, out.length() - 4000)));
    }
  }

  private static void stop(Process p) throws InterruptedException {
    if (p == null || !p.isAlive()) {
      return;
    }
    p.destroy();
    if (!p.waitFor(30, TimeUnit.SECONDS)) {
      p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    }
  }

  @Override
  public void close() throws InterruptedException {
    for (Process p : all.reversed()) {
      if (p != postgres) {
        stop(p);
      }
    }
    stop(postgres);
  }

  // ------------------------------------------------------------------------------------------
  // The REST API, as a user calls it

  JsonNode call(String method, String path, Object body, String... headers) throws Exception {
    if (token == null && !path.endsWith("/auth/login") && !path.endsWith("/proxies/register")) {
      token =
          call(
                  "POST",
                  "/api/v1/auth/login",
                  Map.of("username", "admin", "password", ADMIN_PASSWORD))
              .path("accessToken")
              .asText();
    }
    var b =
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + apiPort + path))
            .timeout(Duration.ofSeconds(30))
            .header("Content-Type", "application/json")
            .method(
                method,
                body == null
                    ? HttpRequest.BodyPublishers.noBody()
                    : HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(body)));
    if (token != null) {
      b.header("Authorization", "Bearer " + token);
    }
    for (int i = 0; i < headers.length; i += 2) {
      b.header(headers[i], headers[i + 1]);
    }
    var r = HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    if (r.statusCode() >= 300) {
      throw new AssertionError(method + " " + path + " -> " + r.statusCode() + " " + r.body());
    }
    return r.body().isEmpty() ? JSON.nullNode() : JSON.readTree(r.body());
  }
}
