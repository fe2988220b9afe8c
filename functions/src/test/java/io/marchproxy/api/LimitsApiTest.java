package io.marchproxy.api;

import static org.assertj.core.api.Assertions.assertThat;

import io.marchproxy.api.testing.ApiTest;
import io.micronaut.test.extensions.junit5.annotation.MicronautTest;
import org.junit.jupiter.api.Test;

/** Limits are explicit and errors are problem documents, including the framework's own. */
@MicronautTest(transactional = false)
class LimitsApiTest extends ApiTest {

  @Test
  void aBodyOverOneMegabyteIs413AndWritesNothing() {
    String cluster = createCluster("limits");
    String huge =
        "{\"name\":\"big\",\"protocol\":\"tcp\",\"endpoints\":[],\"pad\":\""
            + "x".repeat(1_100_000)
            + "\"}";
    var r = post("/api/v1/clusters/" + cluster + "/services", huge, admin());
    assertThat(r.status()).isEqualTo(413);
    assertThat(r.header("Content-Type")).startsWith("application/problem+json");
    assertThat(sql("select count(*) from services")).isEqualTo("0");
  }

  @Test
  void unknownRoutesAndWrongMethodsAreProblems() {
    get("/api/v1/nothing-here", admin()).expectProblem(404, "not-found");
    delete("/api/v1/auth/login", admin()).expectProblem(405, "method-not-allowed");
  }
}
