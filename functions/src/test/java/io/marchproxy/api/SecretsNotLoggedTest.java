package io.marchproxy.api;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.ThrowableProxyUtil;
import ch.qos.logback.core.read.ListAppender;
import io.marchproxy.api.license.LicenseApiTest;
import io.marchproxy.api.testing.ApiTest;
import io.micronaut.test.extensions.junit5.annotation.MicronautTest;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/** Every secret the API handles, through every path that handles it, never reaches a log line. */
@MicronautTest(transactional = false)
class SecretsNotLoggedTest extends ApiTest {

  @Test
  @SuppressWarnings("unchecked")
  void noSecretAppearsInAnyLogEvent() throws Exception {
    var context = (LoggerContext) LoggerFactory.getILoggerFactory();
    Logger root = context.getLogger(Logger.ROOT_LOGGER_NAME);
    Level previous = root.getLevel();
    var appender = new ListAppender<ILoggingEvent>();
    appender.start();
    root.addAppender(appender);
    root.setLevel(Level.DEBUG);
    List<String> secrets = new ArrayList<>();
    try {
      secrets.add(ADMIN_PASSWORD);
      var tokens = login("admin", ADMIN_PASSWORD).expect(200);
      secrets.add(tokens.str("refreshToken"));
      login("admin", "a-wrong-password-attempt").expect(401);
      secrets.add("a-wrong-password-attempt");
      post("/api/v1/auth/refresh", Map.of("refreshToken", tokens.str("refreshToken")), null)
          .expect(200);
      secrets.add(
          post("/api/v1/auth/tokens", Map.of("name", "automation"), admin())
              .expect(201)
              .str("token"));
      String license =
          LicenseApiTest.mint(10, 5, List.of(), Instant.now().plus(1, ChronoUnit.DAYS));
      put("/api/v1/license", Map.of("key", license), admin()).expect(200);
      String cluster = createCluster("secrets");
      secrets.add(createClusterKey(cluster));
      var svc =
          post(
                  "/api/v1/clusters/" + cluster + "/services",
                  Map.of(
                      "name",
                      "jwt",
                      "protocol",
                      "http",
                      "endpoints",
                      List.of(Map.of("host", "10.0.0.1", "port", 80)),
                      "auth",
                      Map.of("mode", "jwt")),
                  admin())
              .expect(201);
      secrets.add((String) ((Map<String, Object>) svc.map().get("credential")).get("jwtSecret"));
      post(
              "/api/v1/users",
              Map.of("username", "newbie", "password", "newbie-password-123", "role", "viewer"),
              admin())
          .expect(201);
      secrets.add("newbie-password-123");
      // A malformed request carrying a secret must not echo it in the error log either.
      post("/api/v1/users", "{\"username\":\"x\",\"password\":\"leaky-password-999\",", admin())
          .expect(400);
      secrets.add("leaky-password-999");
    } finally {
      root.detachAppender(appender);
      root.setLevel(previous);
    }
    assertThat(appender.list).isNotEmpty();
    for (ILoggingEvent e : appender.list) {
      String text =
          e.getFormattedMessage()
              + (e.getThrowableProxy() == null
                  ? ""
                  : ThrowableProxyUtil.asString(e.getThrowableProxy()));
      for (String secret : secrets) {
        assertThat(text).as("log line from %s", e.getLoggerName()).doesNotContain(secret);
      }
    }
  }
}
