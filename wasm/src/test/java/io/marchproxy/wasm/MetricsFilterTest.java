package io.marchproxy.wasm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.marchproxy.wasm.FilterHost.Filter;
import io.marchproxy.wasm.FilterHost.Request;
import io.marchproxy.wasm.FilterHost.Response;
import io.roastedroot.proxywasm.StartException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The metrics filter, built to wasm, in the proxy-wasm host; a fresh plugin per test. */
class MetricsFilterTest {
  static final String CONFIG =
      """
      {
        "routes": [
          {"name": "orders", "path_prefix": "/orders"},
          {"name": "orders-export", "path_prefix": "/orders/export"}
        ]
      }
      """;
  static final List<String> ROUTE_NAME = List.of("xds", "route_name");

  private FilterHost metrics;

  @BeforeEach
  void start() throws Exception {
    metrics = FilterHost.start(Filter.METRICS, CONFIG);
  }

  @AfterEach
  void stop() {
    metrics.close();
  }

  private Long value(String name) {
    return metrics.metrics().value(name);
  }

  @Test
  void countsRequestsByMethod() {
    for (String method : List.of("GET", "GET", "GET", "POST", "POST", "BREW")) {
      metrics.send(Request.get("/orders").withMethod(method));
    }

    assertThat(value("marchproxy.requests.method.GET")).isEqualTo(3);
    assertThat(value("marchproxy.requests.method.POST")).isEqualTo(2);
    assertThat(value("marchproxy.requests.method.DELETE")).isZero();
    assertThat(value("marchproxy.requests.method.OTHER")).isEqualTo(1);
    assertThat(metrics.metrics().names()).noneMatch(name -> name.contains("BREW"));
  }

  @Test
  void countsResponsesByStatusClass() {
    for (int status : List.of(200, 204, 301, 404, 401, 429, 503)) {
      metrics.send(Request.get("/orders").withUpstream(Response.status(status)));
    }

    assertThat(value("marchproxy.responses.class.1xx")).isZero();
    assertThat(value("marchproxy.responses.class.2xx")).isEqualTo(2);
    assertThat(value("marchproxy.responses.class.3xx")).isEqualTo(1);
    assertThat(value("marchproxy.responses.class.4xx")).isEqualTo(3);
    assertThat(value("marchproxy.responses.class.5xx")).isEqualTo(1);
  }

  @Test
  void countsPerRouteFromTheHostsRouteNameThenFromPathPrefixes() {
    metrics.send(Request.get("/anything").withProperty(ROUTE_NAME, "orders-read"));
    metrics.send(
        Request.get("/anything")
            .withProperty(ROUTE_NAME, "orders-read")
            .withUpstream(Response.status(502)));
    metrics.send(Request.get("/orders/42"));
    metrics.send(Request.get("/orders/export/2026.csv"));
    metrics.send(Request.get("/static/app.js"));
    metrics.send(Request.get("/x").withProperty(ROUTE_NAME, "billing/v1 read"));

    assertThat(value("marchproxy.route.orders-read.requests")).isEqualTo(2);
    assertThat(value("marchproxy.route.orders-read.responses.2xx")).isEqualTo(1);
    assertThat(value("marchproxy.route.orders-read.responses.5xx")).isEqualTo(1);
    assertThat(value("marchproxy.route.orders.requests")).isEqualTo(1);
    assertThat(value("marchproxy.route.orders-export.requests")).isEqualTo(1);
    assertThat(value("marchproxy.route._unmatched.requests")).isEqualTo(1);
    assertThat(value("marchproxy.route.billing_v1_read.requests")).isEqualTo(1);
  }

  @Test
  void recordsDurationAndSizeHistograms() {
    metrics.send(
        Request.get("/orders")
            .withMethod("POST")
            .withHeader("content-length", "512")
            .withUpstream(new Response(201, Map.of("content-length", "2048"), new byte[0])));
    metrics.send(
        Request.get("/orders")
            .withUpstream(
                new Response(200, Map.of(), "{\"ok\":true}".getBytes(StandardCharsets.UTF_8))));

    var recorded = metrics.metrics();
    assertThat(recorded.samples("marchproxy.request_size_bytes")).containsExactly(512L, 0L);
    assertThat(recorded.samples("marchproxy.response_size_bytes")).containsExactly(2048L, 11L);
    assertThat(recorded.samples("marchproxy.request_duration_ms"))
        .hasSize(2)
        .allSatisfy(ms -> assertThat(ms).isNotNegative());
  }

  @Test
  void samplesHistogramsAtTheConfiguredRateButCountsEveryRequest() throws Exception {
    try (var sampled = FilterHost.start(Filter.METRICS, "{\"sample_rate\": 0.25}")) {
      for (int i = 0; i < 40; i++) {
        sampled.send(Request.get("/orders"));
      }
      assertThat(sampled.metrics().value("marchproxy.requests.method.GET")).isEqualTo(40);
      assertThat(sampled.metrics().samples("marchproxy.request_duration_ms")).hasSize(10);
      assertThat(sampled.metrics().samples("marchproxy.response_size_bytes")).hasSize(10);
    }
  }

  @Test
  void capsTheNumberOfRoutesAndUsesTheConfiguredPrefix() throws Exception {
    try (var capped =
        FilterHost.start(Filter.METRICS, "{\"max_routes\": 2, \"prefix\": \"edge\"}")) {
      for (String route : List.of("a", "b", "c", "d", "a")) {
        capped.send(Request.get("/").withProperty(ROUTE_NAME, route));
      }
      var recorded = capped.metrics();
      assertThat(recorded.value("edge.route.a.requests")).isEqualTo(2);
      assertThat(recorded.value("edge.route.b.requests")).isEqualTo(1);
      assertThat(recorded.value("edge.route._other.requests")).isEqualTo(2);
      assertThat(recorded.names()).noneMatch(name -> name.startsWith("edge.route.c."));
    }
  }

  @Test
  void startsWithAnEmptyConfiguration() throws Exception {
    try (var defaults = FilterHost.start(Filter.METRICS, "")) {
      defaults.send(Request.get("/"));
      assertThat(defaults.metrics().value("marchproxy.requests.method.GET")).isEqualTo(1);
      assertThat(defaults.metrics().value("marchproxy.route._unmatched.requests")).isEqualTo(1);
    }
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "[]",
        "{\"sample_rate\": 1.5}",
        "{\"sample_rate\": \"all\"}",
        "{\"prefix\": \"has space\"}",
        "{\"routes\": [{\"name\": \"x\"}]}"
      })
  void refusesABadConfiguration(String configuration) {
    assertThatThrownBy(() -> FilterHost.start(Filter.METRICS, configuration).close())
        .isInstanceOf(StartException.class);
  }
}
