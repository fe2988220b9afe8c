package io.marchproxy.l4.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The proxy's identity with the API: registers with the cluster key ({@code POST
 * /api/v1/proxies/register}; the same name keeps its id), remembers the id on disk so a restart
 * while the API is down keeps it, and sends heartbeats.
 */
public final class Registration {

  private static final Logger log = LoggerFactory.getLogger(Registration.class);
  private static final ObjectMapper JSON = new ObjectMapper();

  /** What the API returned. */
  public record Registered(String proxyId, String clusterId) {}

  /** What the proxy says about itself. */
  public record Self(String name, String hostname, String region, String zone, String version) {}

  private final HttpClient http =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private final URI api;
  private final String clusterKey;
  private final Path idFile;

  public Registration(URI api, String clusterKey, Path stateDir) {
    this.api = api;
    this.clusterKey = clusterKey;
    this.idFile = stateDir.resolve("proxy-id");
  }

  /**
   * Registers; when the API cannot be reached, falls back to the id of the last registration.
   *
   * @throws IOException when there is neither (or the API refused the key: that is never retried
   *     with an old id)
   */
  public Registered register(Self self) throws IOException {
    Map<String, String> body = new LinkedHashMap<>();
    body.put("name", self.name());
    body.put("kind", "l4");
    body.put("hostname", self.hostname());
    body.put("region", self.region());
    body.put("zone", self.zone());
    body.put("version", self.version());
    HttpResponse<String> r;
    try {
      r = send("/api/v1/proxies/register", JSON.writeValueAsString(body));
    } catch (IOException e) {
      Optional<Registered> saved = saved();
      if (saved.isPresent()) {
        log.warn(
            "API {} unreachable ({}); using the saved proxy id {}",
            api,
            e.toString(),
            saved.get().proxyId());
        return saved.get();
      }
      throw new IOException("cannot register with " + api + ": " + e, e);
    }
    if (r.statusCode() != 200 && r.statusCode() != 201) {
      throw new IOException("registration refused: HTTP " + r.statusCode() + " " + r.body());
    }
    JsonNode n = JSON.readTree(r.body());
    Registered reg = new Registered(n.path("id").asText(), n.path("clusterId").asText());
    if (reg.proxyId().isEmpty()) {
      throw new IOException("registration answer without an id: " + r.body());
    }
    Files.createDirectories(idFile.getParent());
    Files.writeString(idFile, reg.proxyId() + "\n" + reg.clusterId() + "\n");
    log.info("registered as proxy {} in cluster {}", reg.proxyId(), reg.clusterId());
    return reg;
  }

  private Optional<Registered> saved() {
    try {
      var lines = Files.readAllLines(idFile);
      return lines.isEmpty()
          ? Optional.empty()
          : Optional.of(
              new Registered(lines.get(0).trim(), lines.size() > 1 ? lines.get(1).trim() : ""));
    } catch (IOException e) {
      return Optional.empty();
    }
  }

  /** One heartbeat; failures are logged, never fatal. */
  public void heartbeat(String proxyId) {
    try {
      HttpResponse<String> r = send("/api/v1/proxies/" + proxyId + "/heartbeat", "{}");
      if (r.statusCode() >= 300) {
        log.warn("heartbeat refused: HTTP {} {}", r.statusCode(), r.body());
      }
    } catch (IOException e) {
      log.debug("heartbeat failed: {}", e.toString());
    }
  }

  private HttpResponse<String> send(String path, String json) throws IOException {
    HttpRequest req =
        HttpRequest.newBuilder(api.resolve(path))
            .timeout(Duration.ofSeconds(10))
            .header("Content-Type", "application/json")
            .header("X-Cluster-Key", clusterKey)
            .POST(HttpRequest.BodyPublishers.ofString(json))
            .build();
    try {
      return http.send(req, HttpResponse.BodyHandlers.ofString());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted", e);
    }
  }
}
