package io.marchproxy.api.testing;

import static org.assertj.core.api.Assertions.assertThat;

import io.marchproxy.core.testing.TestPostgres;
import io.micronaut.json.JsonMapper;
import io.micronaut.runtime.server.EmbeddedServer;
import io.micronaut.test.support.TestPropertyProvider;
import jakarta.inject.Inject;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import javax.sql.DataSource;
import org.junit.jupiter.api.TestInstance;

/**
 * Base of API tests: a real server on a fresh Postgres database per test class, and a plain HTTP
 * client so tests see exactly the status, headers and body a user sees. Subclasses add
 * {@code @MicronautTest(transactional = false)}.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
public abstract class ApiTest implements TestPropertyProvider {

  public static final String ADMIN_PASSWORD = "admin-password-for-tests";
  private static final HttpClient HTTP =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  @Inject protected EmbeddedServer server;
  @Inject protected JsonMapper json;
  @Inject protected DataSource dataSource;
  @Inject protected io.micronaut.jdbc.DataSourceResolver dataSourceResolver;

  private String adminToken;

  @Override
  public Map<String, String> getProperties() {
    var props = new HashMap<>(TestPostgres.datasourceProperties());
    props.put("marchproxy.admin.password", ADMIN_PASSWORD);
    props.put("marchproxy.master-key", Base64.getEncoder().encodeToString(new byte[32]));
    props.put("marchproxy.license.public-key", testLicensePublicKey());
    props.putAll(extraProperties());
    return props;
  }

  protected Map<String, String> extraProperties() {
    return Map.of();
  }

  public static String testLicensePublicKey() {
    return resource("/license/test-public-key.b64");
  }

  public static String resource(String path) {
    try (var in = ApiTest.class.getResourceAsStream(path)) {
      return new String(in.readAllBytes(), StandardCharsets.US_ASCII).trim();
    } catch (IOException | NullPointerException e) {
      throw new IllegalStateException("test resource " + path, e);
    }
  }

  /** What the server answered. */
  public record Response(
      int status, Map<String, List<String>> headers, String body, JsonMapper json) {

    public String header(String name) {
      return headers.entrySet().stream()
          .filter(e -> e.getKey().equalsIgnoreCase(name))
          .map(e -> e.getValue().getFirst())
          .findFirst()
          .orElse(null);
    }

    @SuppressWarnings("unchecked")
    public Map<String, Object> map() {
      try {
        return json.readValue(body, Map.class);
      } catch (IOException e) {
        throw new AssertionError("not a JSON object: " + body, e);
      }
    }

    @SuppressWarnings("unchecked")
    public List<Object> list() {
      try {
        return json.readValue(body, List.class);
      } catch (IOException e) {
        throw new AssertionError("not a JSON array: " + body, e);
      }
    }

    public String str(String key) {
      Object v = map().get(key);
      return v == null ? null : v.toString();
    }

    @SuppressWarnings("unchecked")
    public List<Map<String, Object>> items() {
      return (List<Map<String, Object>>) map().get("items");
    }

    /** Asserts the status, showing the body when it differs. */
    public Response expect(int expected) {
      assertThat(status).as("HTTP status; body: %s", body).isEqualTo(expected);
      return this;
    }

    /** Asserts an RFC 9457 problem of this status and type suffix. */
    public Response expectProblem(int expected, String typeSuffix) {
      expect(expected);
      assertThat(header("Content-Type")).startsWith("application/problem+json");
      Map<String, Object> p = map();
      assertThat(p.get("status")).isEqualTo(expected);
      assertThat((String) p.get("type")).isEqualTo("urn:marchproxy:problem:" + typeSuffix);
      assertThat(p.get("title")).isNotNull();
      return this;
    }
  }

  public Response call(String method, String path, Object body, String token, String... headers) {
    try {
      String text =
          body == null ? null : body instanceof String s ? s : json.writeValueAsString(body);
      var b =
          HttpRequest.newBuilder(URI.create("http://localhost:" + server.getPort() + path))
              .timeout(Duration.ofSeconds(30))
              .method(
                  method,
                  text == null
                      ? HttpRequest.BodyPublishers.noBody()
                      : HttpRequest.BodyPublishers.ofString(text));
      if (text != null) {
        b.header("Content-Type", "application/json");
      }
      if (token != null) {
        b.header("Authorization", "Bearer " + token);
      }
      for (int i = 0; i < headers.length; i += 2) {
        b.header(headers[i], headers[i + 1]);
      }
      HttpResponse<String> r = HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
      return new Response(r.statusCode(), r.headers().map(), r.body(), json);
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  public Response get(String path, String token) {
    return call("GET", path, null, token);
  }

  public Response post(String path, Object body, String token) {
    return call("POST", path, body, token);
  }

  public Response put(String path, Object body, String token, String... headers) {
    return call("PUT", path, body, token, headers);
  }

  public Response delete(String path, String token, String... headers) {
    return call("DELETE", path, null, token, headers);
  }

  public Response login(String username, String password) {
    return post("/api/v1/auth/login", Map.of("username", username, "password", password), null);
  }

  /** An access token of the first admin (logged in once per class). */
  public String admin() {
    if (adminToken == null) {
      adminToken = login("admin", ADMIN_PASSWORD).expect(200).str("accessToken");
    }
    return adminToken;
  }

  /** Creates a cluster and returns its id. */
  public String createCluster(String name) {
    return post("/api/v1/clusters", Map.of("name", name), admin()).expect(201).str("id");
  }

  /** Creates a cluster key and returns the key itself. */
  public String createClusterKey(String clusterId) {
    return post("/api/v1/clusters/" + clusterId + "/keys", Map.of("name", "proxies"), admin())
        .expect(201)
        .str("key");
  }

  /** Runs SQL against the test database and returns the first column of the first row. */
  public String sql(String query, Object... params) {
    try (var c = dataSourceResolver.resolve(dataSource).getConnection();
        var ps = c.prepareStatement(query)) {
      for (int i = 0; i < params.length; i++) {
        ps.setObject(i + 1, params[i]);
      }
      if (!ps.execute()) {
        return String.valueOf(ps.getUpdateCount());
      }
      try (var rs = ps.getResultSet()) {
        return rs.next() ? rs.getString(1) : null;
      }
    } catch (java.sql.SQLException e) {
      throw new IllegalStateException(query, e);
    }
  }

  public static Path tempFile(String prefix) {
    try {
      return Files.createTempFile(prefix, ".tmp");
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }
}
