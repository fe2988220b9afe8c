package io.marchproxy.api.users;

import static org.assertj.core.api.Assertions.assertThat;

import io.marchproxy.api.license.LicenseApiTest;
import io.marchproxy.api.testing.ApiTest;
import io.micronaut.test.extensions.junit5.annotation.MicronautTest;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

@MicronautTest(transactional = false)
class UsersApiTest extends ApiTest {

  @Test
  void rolesLimitWhatUsersMayDo() throws Exception {
    LicenseApiTest.installEnterprise(this);
    String mine = createCluster("ops-mine");
    String other = createCluster("ops-other");
    var op =
        post(
                "/api/v1/users",
                Map.of(
                    "username",
                    "olga",
                    "password",
                    "operator-password-1",
                    "role",
                    "operator",
                    "allowedClusters",
                    List.of(mine)),
                admin())
            .expect(201);
    assertThat(op.body()).doesNotContain("operator-password-1").doesNotContain("passwordHash");
    post(
            "/api/v1/users",
            Map.of("username", "vic", "password", "viewer-password-1", "role", "viewer"),
            admin())
        .expect(201);
    String olga = login("olga", "operator-password-1").expect(200).str("accessToken");
    String vic = login("vic", "viewer-password-1").expect(200).str("accessToken");

    var svc =
        Map.of(
            "name",
            "s",
            "protocol",
            "tcp",
            "endpoints",
            List.of(Map.of("host", "10.0.0.1", "port", 1)));
    post("/api/v1/clusters/" + mine + "/services", svc, olga).expect(201);
    post("/api/v1/clusters/" + other + "/services", svc, olga).expectProblem(404, "not-found");
    assertThat(get("/api/v1/clusters", olga).expect(200).items())
        .extracting(m -> m.get("name"))
        .containsExactly("ops-mine");
    post("/api/v1/clusters", Map.of("name", "nope"), olga).expectProblem(403, "forbidden");
    post(
            "/api/v1/users",
            Map.of("username", "x", "password", "xxxxxxxxxxxxxx", "role", "admin"),
            olga)
        .expectProblem(403, "forbidden");

    get("/api/v1/clusters/" + other + "/services", vic).expect(200);
    post("/api/v1/clusters/" + other + "/services", svc, vic).expectProblem(403, "forbidden");
    get("/api/v1/users", vic).expectProblem(403, "forbidden");
    get("/api/v1/audit", vic).expectProblem(403, "forbidden");
  }

  @Test
  void validationDuplicatesAndTheLastAdmin() {
    post(
            "/api/v1/users",
            Map.of("username", "Bad Name", "password", "short", "role", "root"),
            admin())
        .expectProblem(400, "validation-failed");
    post(
            "/api/v1/users",
            Map.of("username", "admin", "password", "long-enough-pass", "role", "viewer"),
            admin())
        .expectProblem(409, "conflict");
    String adminId = get("/api/v1/auth/me", admin()).expect(200).str("id");
    put("/api/v1/users/" + adminId, Map.of("role", "viewer"), admin())
        .expectProblem(409, "conflict");
    delete("/api/v1/users/" + adminId, admin()).expectProblem(409, "conflict");
    var u =
        post(
                "/api/v1/users",
                Map.of("username", "temp", "password", "temporary-pass-1", "role", "viewer"),
                admin())
            .expect(201);
    put("/api/v1/users/" + u.str("id"), Map.of("disabled", true), admin(), "If-Match", "\"9\"")
        .expectProblem(412, "precondition-failed");
    put("/api/v1/users/" + u.str("id"), Map.of("disabled", true), admin(), "If-Match", "\"1\"")
        .expect(200);
    login("temp", "temporary-pass-1").expectProblem(401, "unauthorized");
    delete("/api/v1/users/" + u.str("id"), admin()).expect(204);
  }
}
