package io.marchproxy.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/** The REST API as a client sees it: JSON over HTTP with a bearer token; errors fail the test. */
final class Api {

  static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient HTTP =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  private final String base;
  private final String token;

  private Api(String base, String token) {
    this.base = base;
    this.token = token;
  }

  static Api login(int port, String username, String password) throws Exception {
    Api anonymous = new Api("http://localhost:" + port, null);
    JsonNode tokens =
        anonymous.send(
            "POST",
            "/api/v1/auth/login",
            JSON.createObjectNode().put("username", username).put("password", password),
            null);
    return new Api(anonymous.base, tokens.get("accessToken").asText());
  }

  JsonNode get(String path) throws Exception {
    return send("GET", path, null, null);
  }

  JsonNode post(String path, Object body) throws Exception {
    return send("POST", path, body, null);
  }

  JsonNode put(String path, Object body) throws Exception {
    return send("PUT", path, body, null);
  }

  /** Registers a proxy with a cluster key (no user token), as a data plane does at start. */
  JsonNode register(String clusterKey, String name, String kind) throws Exception {
    return new Api(base, null)
        .send(
            "POST",
            "/api/v1/proxies/register",
            JSON.createObjectNode()
                .put("name", name)
                .put("kind", kind)
                .put("hostname", name + ".test")
                .put("region", "local")
                .put("zone", "local-a")
                .put("version", "test"),
            clusterKey);
  }

  private JsonNode send(String method, String path, Object body, String clusterKey)
      throws Exception {
    var b =
        HttpRequest.newBuilder(URI.create(base + path))
            .timeout(Duration.ofSeconds(30))
            .header("Content-Type", "application/json")
            .method(
                method,
                body == null
                    ? HttpRequest.BodyPublishers.noBody()
                    : HttpRequest.BodyPublishers.ofString(
                        body instanceof String s ? s : JSON.writeValueAsString(body)));
    if (token != null) {
      b.header("Authorization", "Bearer " + token);
    }
    if (clusterKey != null) {
      b.header("X-Cluster-Key", clusterKey);
    }
    HttpResponse<String> r = HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    if (r.statusCode() >= 400) {
      throw new AssertionError(method + " " + path + " -> " + r.statusCode() + ": " + r.body());
    }
    return r.body().isEmpty() ? JSON.nullNode() : JSON.readTree(r.body());
  }

  /** The value of one Prometheus sample (0 when absent) from a /metrics page. */
  static double metric(int port, String name, String labelFragment) throws Exception {
    HttpResponse<String> r =
        HTTP.send(
            HttpRequest.newBuilder(URI.create("http://localhost:" + port + "/metrics")).build(),
            HttpResponse.BodyHandlers.ofString());
    double sum = 0;
    for (String line : r.body().split("\n")) {
      if (line.startsWith(name + "{") && line.contains(labelFragment)
          || line.startsWith(name + " ") && labelFragment.isEmpty()) {
        sum += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
      }
    }
    return sum;
  }

  static int status(int port, String path) throws Exception {
    try {
      return HTTP.send(
              HttpRequest.newBuilder(URI.create("http://localhost:" + port + path))
                  .timeout(Duration.ofSeconds(5))
                  .build(),
              HttpResponse.BodyHandlers.discarding())
          .statusCode();
    } catch (java.io.IOException e) {
      return -1;
    }
  }
}
