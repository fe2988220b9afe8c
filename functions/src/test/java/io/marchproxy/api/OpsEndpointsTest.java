package io.marchproxy.api;

import static org.assertj.core.api.Assertions.assertThat;

import io.marchproxy.core.testing.TestPostgres;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.client.HttpClient;
import io.micronaut.http.client.annotation.Client;
import io.micronaut.test.extensions.junit5.annotation.MicronautTest;
import io.micronaut.test.support.TestPropertyProvider;
import jakarta.inject.Inject;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

@MicronautTest(transactional = false)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class OpsEndpointsTest implements TestPropertyProvider {

  @Inject
  @Client("/")
  HttpClient http;

  @Override
  public Map<String, String> getProperties() {
    var props = new HashMap<>(TestPostgres.datasourceProperties());
    props.put("marchproxy.admin.password", "correct-horse-battery");
    return props;
  }

  @Test
  void healthzSaysUp() {
    HttpResponse<String> r = http.toBlocking().exchange("/healthz", String.class);
    assertThat(r.code()).isEqualTo(200);
    assertThat(r.body()).contains("\"status\":\"up\"");
  }

  @Test
  void readyzChecksTheDatabaseAndMigrations() {
    HttpResponse<String> r = http.toBlocking().exchange("/readyz", String.class);
    assertThat(r.code()).isEqualTo(200);
    assertThat(r.body()).contains("\"status\":\"ready\"").contains("ok: schema version ");
  }

  @Test
  void metricsArePrometheusText() {
    http.toBlocking().exchange("/healthz", String.class);
    HttpResponse<String> r = http.toBlocking().exchange("/metrics", String.class);
    assertThat(r.code()).isEqualTo(200);
    assertThat(r.getContentType())
        .hasValueSatisfying(t -> assertThat(t.toString()).startsWith("text/plain"));
    assertThat(r.body())
        .contains("jvm_memory_used_bytes")
        .contains("http_server_requests_seconds_count");
  }
}
