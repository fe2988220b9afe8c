package io.marchproxy.api.proxies;

import static org.assertj.core.api.Assertions.assertThat;

import io.marchproxy.api.testing.ApiTest;
import io.micronaut.test.extensions.junit5.annotation.MicronautTest;
import java.util.Map;
import org.junit.jupiter.api.Test;

@MicronautTest(transactional = false)
class ProxiesApiTest extends ApiTest {

  private Response register(String key, String name) {
    return call(
        "POST",
        "/api/v1/proxies/register",
        Map.of(
            "name",
            name,
            "kind",
            "l4",
            "hostname",
            "proxy-" + name,
            "region",
            "eu-west-1",
            "zone",
            "eu-west-1a",
            "version",
            "0.1.0"),
        null,
        "X-Cluster-Key",
        key);
  }

  @Test
  void communityAllowsThreeProxiesTheFourthIsRefusedNamingTheLimit() {
    String cluster = createCluster("fleet");
    String key = createClusterKey(cluster);
    for (int i = 1; i <= 3; i++) {
      var r = register(key, "p" + i).expect(201);
      assertThat(r.str("clusterId")).isEqualTo(cluster);
      assertThat(r.str("status")).isEqualTo("online");
    }
    // Re-registering an existing proxy keeps its id and is not a new proxy.
    String id = sql("select id from proxies where name = 'p1'");
    assertThat(register(key, "p1").expect(201).str("id")).isEqualTo(id);

    var refused = register(key, "p4").expectProblem(403, "license-limit");
    assertThat(refused.str("limit")).isEqualTo("maxProxies");
    assertThat(refused.str("detail")).contains("allows 3 proxies");
    assertThat(sql("select count(*) from proxies")).isEqualTo("3");

    // An offline proxy no longer counts.
    sql("update proxies set last_seen_at = now() - interval '1 hour' where name = 'p3'");
    register(key, "p4").expect(201);

    var list = get("/api/v1/proxies?clusterId=" + cluster, admin()).expect(200);
    assertThat(list.items()).extracting(m -> m.get("name")).containsExactly("p1", "p2", "p3", "p4");
    assertThat(get("/api/v1/proxies?status=offline", admin()).expect(200).items())
        .extracting(m -> m.get("name"))
        .containsExactly("p3");
    get("/api/v1/proxies?status=dead", admin()).expectProblem(400, "validation-failed");

    call(
            "POST",
            "/api/v1/proxies/" + id + "/heartbeat",
            Map.of("appliedRevision", 1),
            null,
            "X-Cluster-Key",
            key)
        .expect(200);
    assertThat(get("/api/v1/proxies/" + id, admin()).expect(200).map().get("appliedRevision"))
        .isEqualTo(1);

    register("mpk_unknownunknownunknownunknown1234", "p5").expectProblem(401, "unauthorized");
    call("POST", "/api/v1/proxies/register", Map.of("name", "p5", "kind", "l4"), null)
        .expectProblem(401, "unauthorized");
    call(
            "POST",
            "/api/v1/proxies/register",
            Map.of("name", "P 5", "kind", "haproxy"),
            null,
            "X-Cluster-Key",
            key)
        .expectProblem(400, "validation-failed");
  }
}
