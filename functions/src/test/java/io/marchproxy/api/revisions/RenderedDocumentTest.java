package io.marchproxy.api.revisions;

import static org.assertj.core.api.Assertions.assertThat;

import io.marchproxy.api.testing.ApiTest;
import io.marchproxy.core.config.ClusterConfig;
import io.marchproxy.core.config.ClusterConfigRenderer;
import io.marchproxy.core.crypto.Tokens;
import io.micronaut.test.extensions.junit5.annotation.MicronautTest;
import jakarta.inject.Inject;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Each write stores the whole cluster document, rendered reusing the services that did not change
 * (their rows recognised by xmin and version, their JSON written once). Whatever the writes, the
 * stored text must be exactly what a full rendering of the current rows gives, and say what the
 * rows say.
 */
@MicronautTest(transactional = false)
class RenderedDocumentTest extends ApiTest {

  @Inject ClusterConfigRenderer renderer;

  @Test
  void everyStoredDocumentIsTheFullRenderingOfTheRowsAtThatCommit() throws Exception {
    String cluster = createCluster("rendering");
    String base = "/api/v1/clusters/" + cluster + "/services";
    for (String name : List.of("alpha", "beta", "gamma")) {
      post(base, service(name, "10.0.0.1", Map.of()), admin()).expect(201);
    }
    assertMatchesRows(cluster, "alpha", "10.0.0.1", 3);

    // One service changed: only its spec is fetched again, the others are reused.
    String beta = sql("select id from services where name = 'beta'");
    put(base + "/" + beta, service("beta", "10.0.0.9", Map.of()), admin()).expect(200);
    ClusterConfig afterUpdate = assertMatchesRows(cluster, "beta", "10.0.0.9", 3);
    assertThat(endpoint(afterUpdate, "alpha")).isEqualTo("10.0.0.1");

    // A credential lives in another table: the service's row is unchanged, its document entry not.
    String alpha = sql("select id from services where name = 'alpha'");
    put(base + "/" + alpha, service("alpha", "10.0.0.1", Map.of("mode", "token")), admin())
        .expect(200);
    post(base + "/" + alpha + "/credentials", Map.of(), admin()).expect(201);
    ClusterConfig withCredential = assertMatchesRows(cluster, "alpha", "10.0.0.1", 3);
    assertThat(byName(withCredential, "alpha").credentials()).isNotEmpty();

    // A rename and a delete.
    String gamma = sql("select id from services where name = 'gamma'");
    put(base + "/" + gamma, service("delta", "10.0.0.3", Map.of()), admin()).expect(200);
    delete(base + "/" + beta, admin()).expect(204);
    ClusterConfig last = assertMatchesRows(cluster, "delta", "10.0.0.3", 2);
    assertThat(last.services())
        .extracting(ClusterConfig.Service::name)
        .containsExactly("alpha", "delta");
  }

  private ClusterConfig assertMatchesRows(String cluster, String name, String host, int count) {
    String document =
        sql(
            "select r.document from config_revisions r join clusters c on c.id = r.cluster_id"
                + " and r.revision = c.current_revision where c.id = ?::uuid",
            cluster);
    String hash =
        sql(
            "select r.content_hash from config_revisions r join clusters c on c.id = r.cluster_id"
                + " and r.revision = c.current_revision where c.id = ?::uuid",
            cluster);
    ClusterConfig stored = renderer.read(document);
    assertThat(renderer.write(stored))
        .as("the stored text is exactly the full rendering of its content")
        .isEqualTo(document);
    assertThat(Tokens.sha256Hex(document)).isEqualTo(hash);
    assertThat(stored.services()).hasSize(count);
    assertThat(endpoint(stored, name)).isEqualTo(host);
    for (ClusterConfig.Service s : stored.services()) {
      String row = sql("select spec::text from services where id = ?::uuid", s.id().toString());
      assertThat(s.spec())
          .as("the spec of %s as stored in its row", s.name())
          .isEqualTo(renderer.parse(row, io.marchproxy.core.config.ServiceSpec.class));
      assertThat(s.name())
          .isEqualTo(sql("select name from services where id = ?::uuid", s.id().toString()));
    }
    return stored;
  }

  private static ClusterConfig.Service byName(ClusterConfig config, String name) {
    return config.services().stream().filter(s -> s.name().equals(name)).findFirst().orElseThrow();
  }

  private static String endpoint(ClusterConfig config, String name) {
    return byName(config, name).spec().endpoints().getFirst().host();
  }

  private static Map<String, Object> service(String name, String host, Map<String, Object> auth) {
    return auth.isEmpty()
        ? Map.of(
            "name",
            name,
            "protocol",
            "http",
            "endpoints",
            List.of(Map.of("host", host, "port", 80)))
        : Map.of(
            "name",
            name,
            "protocol",
            "http",
            "endpoints",
            List.of(Map.of("host", host, "port", 80)),
            "auth",
            auth);
  }
}
