package io.marchproxy.api.clusters;

import static org.assertj.core.api.Assertions.assertThat;

import io.marchproxy.api.testing.ApiTest;
import io.micronaut.test.extensions.junit5.annotation.MicronautTest;
import java.util.Map;
import org.junit.jupiter.api.Test;

@MicronautTest(transactional = false)
class ClustersApiTest extends ApiTest {

  @Test
  void createGetUpdateWithETagsAndDelete() throws Exception {
    io.marchproxy.api.license.LicenseApiTest.installEnterprise(this);
    var created =
        post("/api/v1/clusters", Map.of("name", "edge-eu", "description", "EU edge"), admin())
            .expect(201);
    String id = created.str("id");
    assertThat(created.header("ETag")).isEqualTo("\"1\"");
    assertThat(created.map().get("currentRevision")).isEqualTo(1);
    assertThat(sql("select count(*) from config_revisions where cluster_id = ?::uuid", id))
        .isEqualTo("1");

    post("/api/v1/clusters", Map.of("name", "edge-eu"), admin()).expectProblem(409, "conflict");
    post("/api/v1/clusters", Map.of("name", "Edge EU"), admin())
        .expectProblem(400, "validation-failed");

    var updated =
        put(
                "/api/v1/clusters/" + id,
                Map.of("description", "changed"),
                admin(),
                "If-Match",
                "\"1\"")
            .expect(200);
    assertThat(updated.header("ETag")).isEqualTo("\"2\"");
    // A stale If-Match is refused and nothing is written.
    put(
            "/api/v1/clusters/" + id,
            Map.of("description", "lost update"),
            admin(),
            "If-Match",
            "\"1\"")
        .expectProblem(412, "precondition-failed");
    assertThat(get("/api/v1/clusters/" + id, admin()).expect(200).str("description"))
        .isEqualTo("changed");

    get("/api/v1/clusters/00000000-0000-0000-0000-000000000000", admin())
        .expectProblem(404, "not-found");
    get("/api/v1/clusters/not-a-uuid", admin()).expectProblem(400, "bad-request");

    delete("/api/v1/clusters/" + id, admin()).expect(204);
    get("/api/v1/clusters/" + id, admin()).expectProblem(404, "not-found");
  }

  @Test
  void listsArePaginatedWithACursor() throws Exception {
    io.marchproxy.api.license.LicenseApiTest.installEnterprise(this);
    for (String n : new String[] {"page-a", "page-b", "page-c"}) {
      createCluster(n);
    }
    var first = get("/api/v1/clusters?limit=2", admin()).expect(200);
    assertThat(first.items()).hasSize(2);
    String cursor = first.str("nextCursor");
    assertThat(cursor).isNotNull();
    var rest = get("/api/v1/clusters?limit=2&cursor=" + cursor, admin()).expect(200);
    assertThat(rest.items()).isNotEmpty();
    assertThat(rest.items().getFirst().get("name"))
        .isNotEqualTo(first.items().getLast().get("name"));
    get("/api/v1/clusters?limit=0", admin()).expectProblem(400, "validation-failed");
    get("/api/v1/clusters?cursor=!!!", admin()).expectProblem(400, "validation-failed");
  }

  @Test
  void clusterKeysAreShownOnceAndRotateWithAGraceWindow() throws Exception {
    io.marchproxy.api.license.LicenseApiTest.installEnterprise(this);
    String id = createCluster("keys");
    var created =
        post("/api/v1/clusters/" + id + "/keys", Map.of("name", "fleet"), admin()).expect(201);
    String key = created.str("key");
    assertThat(key).startsWith("mpk_");
    var listed = get("/api/v1/clusters/" + id + "/keys", admin()).expect(200);
    assertThat(listed.body()).contains(created.str("prefix")).doesNotContain(key);
    assertThat(sql("select count(*) from cluster_api_keys where key_hash = ?", key)).isEqualTo("0");

    var rotated =
        post(
                "/api/v1/clusters/" + id + "/keys/" + created.str("id") + "/rotate",
                Map.of("graceSeconds", 600),
                admin())
            .expect(201);
    assertThat(rotated.body()).contains("previousKeyExpiresAt");
    post(
            "/api/v1/clusters/" + id + "/keys/" + created.str("id") + "/rotate",
            Map.of("graceSeconds", 999999999),
            admin())
        .expectProblem(400, "validation-failed");
  }
}
