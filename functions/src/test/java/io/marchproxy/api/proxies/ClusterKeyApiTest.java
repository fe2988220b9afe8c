package io.marchproxy.api.proxies;

import static org.assertj.core.api.Assertions.assertThat;

import io.marchproxy.api.license.LicenseApiTest;
import io.marchproxy.api.testing.ApiTest;
import io.micronaut.test.extensions.junit5.annotation.MicronautTest;
import java.util.Map;
import org.junit.jupiter.api.Test;

@MicronautTest(transactional = false)
class ClusterKeyApiTest extends ApiTest {

  private Response register(String key, String name) {
    return call(
        "POST",
        "/api/v1/proxies/register",
        Map.of("name", name, "kind", "envoy"),
        null,
        "X-Cluster-Key",
        key);
  }

  @Test
  void aRotatedKeyWorksDuringItsGraceWindowAndIsRefusedAfter() throws Exception {
    LicenseApiTest.installEnterprise(this);
    String cluster = createCluster("rotating");
    var created =
        post("/api/v1/clusters/" + cluster + "/keys", Map.of("name", "fleet"), admin()).expect(201);
    String oldKey = created.str("key");
    register(oldKey, "before-rotation").expect(201);

    var rotated =
        post(
                "/api/v1/clusters/" + cluster + "/keys/" + created.str("id") + "/rotate",
                Map.of("graceSeconds", 3600),
                admin())
            .expect(201);
    @SuppressWarnings("unchecked")
    String newKey = (String) ((Map<String, Object>) rotated.map().get("newKey")).get("key");
    register(oldKey, "during-grace").expect(201);
    register(newKey, "with-new-key").expect(201);

    // The grace window ends.
    sql(
        "update cluster_api_keys set expires_at = now() - interval '1 second' where id = ?::uuid",
        created.str("id"));
    register(oldKey, "after-grace").expectProblem(401, "unauthorized");
    register(newKey, "still-fine").expect(201);

    // Revoked keys stop at once.
    String newId =
        sql(
            "select id from cluster_api_keys where cluster_id = ?::uuid and expires_at is null",
            cluster);
    delete("/api/v1/clusters/" + cluster + "/keys/" + newId, admin()).expect(204);
    register(newKey, "after-revoke").expectProblem(401, "unauthorized");
  }

  @Test
  void aProxyIdIsBoundToItsCluster() throws Exception {
    LicenseApiTest.installEnterprise(this);
    String a = createCluster("bound-a");
    String b = createCluster("bound-b");
    String keyA = createClusterKey(a);
    String keyB = createClusterKey(b);
    String proxyOfA = register(keyA, "edge-1").expect(201).str("id");
    call("POST", "/api/v1/proxies/" + proxyOfA + "/heartbeat", null, null, "X-Cluster-Key", keyB)
        .expectProblem(404, "not-found");
    call("POST", "/api/v1/proxies/" + proxyOfA + "/heartbeat", null, null, "X-Cluster-Key", keyA)
        .expect(200);
    // The same name in another cluster is another proxy.
    assertThat(register(keyB, "edge-1").expect(201).str("id")).isNotEqualTo(proxyOfA);
  }
}
