package io.marchproxy.api.lambda;

import static org.assertj.core.api.Assertions.assertThat;

import com.amazonaws.services.lambda.runtime.events.APIGatewayV2HTTPEvent;
import com.amazonaws.services.lambda.runtime.events.APIGatewayV2HTTPResponse;
import io.marchproxy.core.testing.TestPostgres;
import io.micronaut.context.ApplicationContext;
import io.micronaut.function.aws.LambdaApplicationContextBuilder;
import io.micronaut.function.aws.proxy.MockLambdaContext;
import io.micronaut.function.aws.proxy.payload2.APIGatewayV2HTTPEventFunction;
import io.micronaut.json.JsonMapper;
import io.micronaut.runtime.server.EmbeddedServer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.sql.SQLException;
import java.util.Base64;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The API as AWS Lambda runs it: the stock handler {@code APIGatewayV2HTTPEventFunction}, invoked
 * with events shaped like API Gateway's, on a real Postgres. Only the Lambda runtime's {@code
 * Context} is a stand-in (Micronaut's {@code MockLambdaContext}): there is no Lambda runtime here.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class LambdaHandlerTest {

  static final String ADMIN_PASSWORD = "admin-password-for-lambda";

  private ApplicationContext context;
  private APIGatewayV2HTTPEventFunction handler;
  private JsonMapper json;
  private String jdbcUrl;

  /** What API Gateway would pass on to the client. */
  record Answer(int status, Map<String, String> headers, String body) {
    String header(String name) {
      return headers.entrySet().stream()
          .filter(e -> e.getKey().equalsIgnoreCase(name))
          .map(Map.Entry::getValue)
          .findFirst()
          .orElse(null);
    }
  }

  @BeforeAll
  void coldStart() {
    Map<String, Object> props = new HashMap<>(lambdaEnvironment());
    jdbcUrl = (String) props.get("datasources.default.url");
    // What the Lambda runtime does on a cold start: build the handler (its context starts with
    // it, migrations included), then serve the first event.
    long start = System.nanoTime();
    context = new LambdaApplicationContextBuilder().properties(props).start();
    long contextStarted = System.nanoTime();
    handler = new APIGatewayV2HTTPEventFunction(context);
    long constructed = System.nanoTime();
    Answer first = invoke(ApiGatewayEvents.request("GET", "/healthz", Map.of(), null));
    long served = System.nanoTime();
    assertThat(first.status()).isEqualTo(200);
    System.out.printf(
        "Lambda cold start: context %d ms + handler %d ms + first request %d ms = %d ms%n",
        (contextStarted - start) / 1_000_000,
        (constructed - contextStarted) / 1_000_000,
        (served - constructed) / 1_000_000,
        (served - start) / 1_000_000);
    json = context.getBean(JsonMapper.class);
  }

  /** The configuration a deployed function gets from its environment variables. */
  static Map<String, Object> lambdaEnvironment() {
    Map<String, Object> props = new HashMap<>(TestPostgres.datasourceProperties());
    props.put("marchproxy.admin.password", ADMIN_PASSWORD);
    props.put("marchproxy.master-key", Base64.getEncoder().encodeToString(new byte[32]));
    props.put("marchproxy.license.public-key", resource("/license/test-public-key.b64"));
    // Lambda sets AWS_LAMBDA_FUNCTION_NAME in every function; beans that must stay off on Lambda
    // key on it.
    props.put("aws.lambda.function.name", "marchproxy-api");
    return props;
  }

  @AfterAll
  void close() {
    if (handler != null) {
      handler.close();
    }
    if (context != null) {
      context.close();
    }
  }

  @Test
  void runsInTheLambdaEnvironmentWithoutAnHttpServer() {
    assertThat(context.getEnvironment().getActiveNames()).contains("lambda", "function");
    assertThat(context.findBean(EmbeddedServer.class).map(EmbeddedServer::isRunning))
        .isNotEqualTo(java.util.Optional.of(true));
  }

  @Test
  void healthz() {
    Answer a = invoke(ApiGatewayEvents.request("GET", "/healthz", Map.of(), null));
    assertThat(a.status()).isEqualTo(200);
    assertThat(a.header("Content-Type")).startsWith("application/json");
    assertThat(map(a)).containsEntry("status", "up");
  }

  @Test
  void loginThenMeWithTheToken() {
    Answer login =
        login(ApiGatewayEvents.request("POST", "/api/v1/auth/login", jsonType(), body()));
    assertThat(login.status()).as(login.body()).isEqualTo(200);
    String token = (String) map(login).get("accessToken");
    assertThat(token).isNotBlank();

    Answer me =
        invoke(
            ApiGatewayEvents.request(
                "GET", "/api/v1/auth/me", Map.of("Authorization", "Bearer " + token), null));
    assertThat(me.status()).as(me.body()).isEqualTo(200);
    assertThat(map(me)).containsEntry("username", "admin").containsEntry("role", "admin");
  }

  @Test
  void base64EncodedBodyIsDecoded() {
    Answer login =
        login(
            ApiGatewayEvents.base64Body(
                ApiGatewayEvents.request("POST", "/api/v1/auth/login", jsonType(), body())));
    assertThat(login.status()).as(login.body()).isEqualTo(200);
  }

  @Test
  void theClientAddressComesFromTheRequestContext() throws SQLException {
    login(ApiGatewayEvents.request("POST", "/api/v1/auth/login", jsonType(), body()));
    try (var c = TestPostgres.connect(jdbcUrl);
        var rs =
            c.createStatement()
                .executeQuery(
                    "select source from audit_events where action = 'auth.login'"
                        + " order by seq desc limit 1")) {
      assertThat(rs.next()).isTrue();
      assertThat(rs.getString(1)).isEqualTo(ApiGatewayEvents.SOURCE_IP);
    }
  }

  @Test
  void invalidJsonIsA400Problem() {
    Answer a =
        invoke(
            ApiGatewayEvents.request(
                "POST", "/api/v1/auth/login", jsonType(), "{\"username\": \"admin\","));
    assertThat(a.status()).as(a.body()).isEqualTo(400);
    assertThat(a.header("Content-Type")).startsWith("application/problem+json");
    assertThat(map(a)).containsEntry("status", 400).containsKey("type");
  }

  @Test
  void unknownPathIsA404Problem() {
    Answer a = invoke(ApiGatewayEvents.request("GET", "/api/v1/no-such-thing", Map.of(), null));
    assertThat(a.status()).as(a.body()).isEqualTo(404);
    assertThat(a.header("Content-Type")).startsWith("application/problem+json");
    assertThat(map(a)).containsEntry("status", 404);
  }

  @Test
  void servesTheOpenApiDocument() {
    Answer a = invoke(ApiGatewayEvents.request("GET", "/openapi.yml", Map.of(), null));
    assertThat(a.status()).isEqualTo(200);
    assertThat(a.header("Content-Type")).startsWith("application/yaml");
    assertThat(a.body()).startsWith("openapi: 3.").contains("/api/v1/auth/login:");
  }

  @Test
  void missingTokenIsA401Problem() {
    Answer a = invoke(ApiGatewayEvents.request("GET", "/api/v1/clusters", Map.of(), null));
    assertThat(a.status()).as(a.body()).isEqualTo(401);
    assertThat(a.header("Content-Type")).startsWith("application/problem+json");
  }

  private Answer login(APIGatewayV2HTTPEvent event) {
    return invoke(event);
  }

  private static Map<String, String> jsonType() {
    return Map.of("Content-Type", "application/json");
  }

  private static String body() {
    return "{\"username\":\"admin\",\"password\":\"" + ADMIN_PASSWORD + "\"}";
  }

  private Answer invoke(APIGatewayV2HTTPEvent event) {
    APIGatewayV2HTTPResponse r = handler.handleRequest(event, new MockLambdaContext());
    Map<String, String> headers = new HashMap<>();
    if (r.getMultiValueHeaders() != null) {
      r.getMultiValueHeaders().forEach((k, v) -> headers.put(k, String.join(",", v)));
    }
    if (r.getHeaders() != null) {
      headers.putAll(r.getHeaders());
    }
    String body = r.getBody();
    if (body != null && r.getIsBase64Encoded()) {
      body = new String(Base64.getDecoder().decode(body), StandardCharsets.UTF_8);
    }
    return new Answer(r.getStatusCode(), headers, body);
  }

  @SuppressWarnings("unchecked")
  private Map<String, Object> map(Answer a) {
    try {
      return json.readValue(a.body(), Map.class);
    } catch (IOException e) {
      throw new AssertionError("not JSON: " + a.body(), e);
    }
  }

  static String resource(String path) {
    try (var in = LambdaHandlerTest.class.getResourceAsStream(path)) {
      return new String(in.readAllBytes(), StandardCharsets.US_ASCII).trim();
    } catch (IOException | NullPointerException e) {
      throw new IllegalStateException("test resource " + path, e);
    }
  }
}
