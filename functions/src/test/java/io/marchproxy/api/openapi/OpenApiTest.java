package io.marchproxy.api.openapi;

import static org.assertj.core.api.Assertions.assertThat;

import io.marchproxy.api.testing.ApiTest;
import io.micronaut.test.extensions.junit5.annotation.MicronautTest;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.Yaml;

/** The contract the UI is generated from, as a client fetches it. */
@MicronautTest(transactional = false)
class OpenApiTest extends ApiTest {

  @Test
  @SuppressWarnings("unchecked")
  void servedAsYamlWithoutAToken() {
    Response r = get("/openapi.yml", null).expect(200);
    assertThat(r.header("Content-Type")).startsWith("application/yaml");

    Map<String, Object> doc = new Yaml().load(r.body());
    assertThat(String.valueOf(doc.get("openapi"))).startsWith("3.");
    Map<String, Object> info = (Map<String, Object>) doc.get("info");
    assertThat(info).containsEntry("title", "MarchProxy API").containsKey("version");
    Map<String, Object> paths = (Map<String, Object>) doc.get("paths");
    assertThat(paths).containsKeys("/api/v1/auth/login", "/api/v1/clusters", "/readyz", "/healthz");
    Map<String, Object> schemes =
        (Map<String, Object>) ((Map<String, Object>) doc.get("components")).get("securitySchemes");
    assertThat((Map<String, Object>) schemes.get(ApiDefinition.BEARER))
        .containsEntry("type", "http")
        .containsEntry("scheme", "bearer");
  }

  @Test
  void revalidatesWithItsETag() {
    Response first = get("/openapi.yml", null).expect(200);
    String etag = first.header("ETag");
    assertThat(etag).isNotBlank();
    assertThat(first.header("Cache-Control")).isEqualTo("no-cache");

    Response again = call("GET", "/openapi.yml", null, null, "If-None-Match", etag);
    assertThat(again.status()).isEqualTo(304);
    assertThat(again.body()).isEmpty();
  }
}
