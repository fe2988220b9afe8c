package io.marchproxy.api.services;

import static org.assertj.core.api.Assertions.assertThat;

import io.marchproxy.api.testing.ApiTest;
import io.micronaut.test.extensions.junit5.annotation.MicronautTest;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;

/** Lists are served from memory, and never stale once a revision is committed. */
@MicronautTest(transactional = false)
class ListCacheApiTest extends ApiTest {

  private static void eventually(BooleanSupplier condition, String what)
      throws InterruptedException {
    long deadline = System.nanoTime() + 10_000_000_000L;
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("not within 10 s: " + what);
      }
      Thread.sleep(50);
    }
  }

  @org.junit.jupiter.api.BeforeAll
  void license() throws Exception {
    io.marchproxy.api.license.LicenseApiTest.installEnterprise(this);
  }

  @Test
  void readsSeeEveryCommittedRevisionFromThisOrAnotherInstance() throws Exception {
    String cluster = createCluster("cached");
    String services = "/api/v1/clusters/" + cluster + "/services";
    post(services, DesiredStateApiTest.httpService("one", 80), admin()).expect(201);
    assertThat(get(services, admin()).expect(200).items()).hasSize(1);
    assertThat(get(services, admin()).expect(200).items()).hasSize(1);

    // A write through this instance is visible to the very next read.
    post(services, DesiredStateApiTest.httpService("two", 81), admin()).expect(201);
    assertThat(get(services, admin()).expect(200).items()).hasSize(2);

    // A write by another instance (here: straight SQL plus its revision) arrives by NOTIFY.
    sql(
        "insert into services (id, cluster_id, name, protocol, spec) values (gen_random_uuid(), ?::uuid, 'three', 'tcp',"
            + " '{\"endpoints\":[{\"host\":\"10.0.0.3\",\"port\":3}]}')",
        cluster);
    sql(
        "insert into config_revisions (cluster_id, revision, document, content_hash)"
            + " select id, current_revision + 1, '{}', repeat('b', 64) from clusters where id = ?::uuid",
        cluster);
    sql("update clusters set current_revision = current_revision + 1 where id = ?::uuid", cluster);
    eventually(
        () -> get(services, admin()).items().size() == 3, "the other instance's service listed");

    // A deleted cluster's cached lists are gone too.
    delete("/api/v1/clusters/" + cluster, admin()).expect(204);
    get(services, admin()).expectProblem(404, "not-found");
  }

  @Test
  void eachPageIsCachedOnItsOwn() {
    String cluster = createCluster("paged");
    String services = "/api/v1/clusters/" + cluster + "/services";
    for (String n : List.of("a", "b", "c")) {
      post(
          services,
          Map.of(
              "name",
              n,
              "protocol",
              "tcp",
              "endpoints",
              List.of(Map.of("host", "10.0.0.1", "port", 1))),
          admin());
    }
    var first = get(services + "?limit=2", admin()).expect(200);
    var second = get(services + "?limit=2&cursor=" + first.str("nextCursor"), admin()).expect(200);
    assertThat(first.items()).extracting(m -> m.get("name")).containsExactly("a", "b");
    assertThat(second.items()).extracting(m -> m.get("name")).containsExactly("c");
  }
}
