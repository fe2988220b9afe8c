package io.marchproxy.api.revisions;

import static org.assertj.core.api.Assertions.assertThat;

import io.marchproxy.api.testing.ApiTest;
import io.micronaut.test.extensions.junit5.annotation.MicronautTest;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

@MicronautTest(transactional = false)
class RevisionsApiTest extends ApiTest {

  @Test
  void listGetDiffAndARollbackThatReallyRestores() throws Exception {
    io.marchproxy.api.license.LicenseApiTest.installEnterprise(this);
    String cluster = createCluster("history");
    String base = "/api/v1/clusters/" + cluster;
    post(
            base + "/services",
            Map.of(
                "name",
                "v1",
                "protocol",
                "http",
                "endpoints",
                List.of(Map.of("host", "10.0.0.1", "port", 80))),
            admin())
        .expect(201);
    post(
            base + "/routes",
            Map.of(
                "name",
                "main",
                "hosts",
                List.of("app.example.com"),
                "match",
                Map.of("pathPrefix", "/"),
                "backends",
                List.of(Map.of("service", "v1"))),
            admin())
        .expect(201);
    long good =
        Long.parseLong(sql("select current_revision from clusters where id = ?::uuid", cluster));

    // Then someone replaces the setup: a new service, the route moved, the old service deleted.
    post(
            base + "/services",
            Map.of(
                "name",
                "v2",
                "protocol",
                "http",
                "endpoints",
                List.of(Map.of("host", "10.0.0.2", "port", 80))),
            admin())
        .expect(201);
    String routeId = sql("select id from routes where cluster_id = ?::uuid", cluster);
    put(
            base + "/routes/" + routeId,
            Map.of(
                "name",
                "main",
                "hosts",
                List.of("app.example.com"),
                "match",
                Map.of("pathPrefix", "/"),
                "backends",
                List.of(Map.of("service", "v2"))),
            admin())
        .expect(200);
    delete(base + "/services/" + sql("select id from services where name = 'v1'"), admin())
        .expect(204);

    var list = get(base + "/revisions?limit=2", admin()).expect(200);
    assertThat(list.items()).hasSize(2);
    assertThat(list.str("nextCursor")).isNotNull();
    long latest = ((Number) list.items().getFirst().get("revision")).longValue();
    assertThat(latest).isEqualTo(good + 3);

    var doc = get(base + "/revisions/" + good, admin()).expect(200);
    assertThat(doc.body()).contains("\"name\":\"v1\"").contains("contentHash");

    var diff = get(base + "/revisions/" + good + "/diff/" + latest, admin()).expect(200);
    assertThat(diff.body())
        .contains("\"added\":[\"v2\"]")
        .contains("\"removed\":[\"v1\"]")
        .contains("\"changed\":[\"main\"]");

    var rolled = post(base + "/revisions/" + good + "/rollback", null, admin()).expect(201);
    assertThat(((Number) rolled.map().get("revision")).longValue()).isEqualTo(latest + 1);
    assertThat(rolled.str("contentHash")).isEqualTo(doc.str("contentHash"));
    assertThat(
            sql(
                "select string_agg(name, ',' order by name) from services where cluster_id = ?::uuid",
                cluster))
        .isEqualTo("v1");
    assertThat(
            sql(
                "select spec->'backends'->0->>'service' from routes where cluster_id = ?::uuid",
                cluster))
        .isEqualTo("v1");
    // History is never rewritten.
    assertThat(sql("select count(*) from config_revisions where cluster_id = ?::uuid", cluster))
        .isEqualTo(String.valueOf(latest + 1));

    get(base + "/revisions/999", admin()).expectProblem(404, "not-found");
    post(base + "/revisions/999/rollback", null, admin()).expectProblem(404, "not-found");
  }

  @Test
  void aRevisionShowsWhatXdsServiceMadeOfItPerDataPlane() throws Exception {
    io.marchproxy.api.license.LicenseApiTest.installEnterprise(this);
    String cluster = createCluster("published");
    String base = "/api/v1/clusters/" + cluster;
    post(
            base + "/services",
            Map.of(
                "name",
                "web",
                "protocol",
                "http",
                "endpoints",
                List.of(Map.of("host", "10.0.0.1", "port", 80))),
            admin())
        .expect(201);
    long revision =
        Long.parseLong(sql("select current_revision from clusters where id = ?::uuid", cluster));
    assertThat(get(base + "/revisions/" + revision, admin()).expect(200).map())
        .containsEntry("publications", List.of());

    // What xds-service records (io.marchproxy.xds.publish.PublicationLog writes these rows).
    sql(
        "insert into revision_publications (cluster_id, revision, data_plane, state, problems)"
            + " values (?::uuid, ?, 'envoy', 'published', '[]'),"
            + " (?::uuid, ?, 'l4', 'failed', cast(? as jsonb))",
        cluster,
        revision,
        cluster,
        revision,
        "[{\"resourceType\":\"mapping\",\"name\":\"pg\",\"message\":\"port 80 is taken\"}]");

    var one = get(base + "/revisions/" + revision, admin()).expect(200).map();
    @SuppressWarnings("unchecked")
    var publications = (List<Map<String, Object>>) one.get("publications");
    assertThat(publications).hasSize(2);
    assertThat(publications.get(0))
        .containsEntry("dataPlane", "envoy")
        .containsEntry("state", "published")
        .containsEntry("problems", List.of());
    assertThat(publications.get(1))
        .containsEntry("dataPlane", "l4")
        .containsEntry("state", "failed")
        .containsEntry(
            "problems",
            List.of(
                Map.of("resourceType", "mapping", "name", "pg", "message", "port 80 is taken")));
    assertThat(publications.get(1).get("at")).isNotNull();

    var listed = get(base + "/revisions?limit=1", admin()).expect(200).items().getFirst();
    assertThat(listed).containsEntry("revision", (int) revision);
    assertThat((List<?>) listed.get("publications")).hasSize(2);
  }
}
