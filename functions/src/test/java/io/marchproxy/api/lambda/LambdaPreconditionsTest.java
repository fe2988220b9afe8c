package io.marchproxy.api.lambda;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.marchproxy.core.testing.TestPostgres;
import io.micronaut.function.aws.LambdaApplicationContextBuilder;
import io.micronaut.function.aws.proxy.payload2.APIGatewayV2HTTPEventFunction;
import java.sql.SQLException;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** A Lambda that is missing configuration fails its cold start and names what to set. */
class LambdaPreconditionsTest {

  @Test
  void withoutMasterKey() {
    Map<String, Object> env = new HashMap<>(LambdaHandlerTest.lambdaEnvironment());
    env.remove("marchproxy.master-key");

    assertThatThrownBy(() -> coldStart(env))
        .rootCause()
        .hasMessageContaining("MARCHPROXY_MASTER_KEY");
  }

  @Test
  void withoutDatabaseUrl() {
    Map<String, Object> env = new HashMap<>(LambdaHandlerTest.lambdaEnvironment());
    env.remove("datasources.default.url");

    assertThatThrownBy(() -> coldStart(env))
        .rootCause()
        .hasMessageContaining("DATASOURCES_DEFAULT_URL");
  }

  @Test
  void withoutAdminPasswordOnAnEmptyDatabaseNoPasswordIsGenerated() throws SQLException {
    Map<String, Object> env = new HashMap<>(LambdaHandlerTest.lambdaEnvironment());
    env.remove("marchproxy.admin.password");

    assertThatThrownBy(() -> coldStart(env))
        .rootCause()
        .hasMessageContaining("MARCHPROXY_ADMIN_PASSWORD");
    // Checked before the first admin would have been created with a password printed to the log.
    try (var c = TestPostgres.connect((String) env.get("datasources.default.url"));
        var rs = c.createStatement().executeQuery("select count(*) from users")) {
      rs.next();
      assertThat(rs.getInt(1)).isZero();
    }
  }

  private static void coldStart(Map<String, Object> env) {
    try (var context = new LambdaApplicationContextBuilder().properties(env).start();
        var handler = new APIGatewayV2HTTPEventFunction(context)) {
      handler.handleRequest(ApiGatewayEvents.request("GET", "/healthz", Map.of(), null), null);
    }
  }
}
