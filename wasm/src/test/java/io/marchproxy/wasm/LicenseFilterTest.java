package io.marchproxy.wasm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.marchproxy.wasm.FilterHost.Filter;
import io.marchproxy.wasm.FilterHost.Request;
import io.roastedroot.proxywasm.StartException;
import java.time.Instant;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/** The license filter, built to wasm, in the proxy-wasm host. */
class LicenseFilterTest {
  static final String CONFIG =
      """
      {
        "edition": "business",
        "features": ["sso", "reports"],
        "rules": [
          {"path_prefix": "/admin/sso", "feature": "sso"},
          {"path_prefix": "/reports", "feature": "reports"},
          {"path_prefix": "/reports/advanced", "feature": "advanced_analytics"},
          {"path_prefix": "/waf", "feature": "waf"}
        ],
        "strip_request_headers": ["X-License"]
      }
      """;

  private static FilterHost license;

  @BeforeAll
  static void start() throws Exception {
    license = FilterHost.start(Filter.LICENSE, CONFIG);
  }

  @AfterAll
  static void stop() {
    license.close();
  }

  /** path, expected status, the feature named in the 402 body (null when forwarded). */
  static Stream<Arguments> paths() {
    return Stream.of(
        Arguments.of("/orders/42", 200, null),
        Arguments.of("/admin/sso/login", 200, null),
        Arguments.of("/reports/daily", 200, null),
        Arguments.of("/reports/advanced/cohorts", 402, "advanced_analytics"),
        Arguments.of("/reports/advanced?range=30d", 402, "advanced_analytics"),
        Arguments.of("/waf", 402, "waf"),
        Arguments.of("/waf/rules?page=2", 402, "waf"),
        Arguments.of("/wafer", 402, "waf"),
        Arguments.of("/", 200, null));
  }

  @ParameterizedTest(name = "{0} -> {1}")
  @MethodSource("paths")
  void gatesPathsByLicensedFeature(String path, int status, String feature) {
    var exchange = license.send(Request.get(path));

    assertThat(exchange.status()).isEqualTo(status);
    assertThat(exchange.forwarded()).isEqualTo(status == 200);
    assertThat(exchange.responseHeaders()).containsEntry("x-marchproxy-edition", "business");
    if (status == 402) {
      assertThat(exchange.responseHeaders()).containsEntry("content-type", "application/json");
      assertThat(exchange.body())
          .contains("\"error\":\"feature_not_licensed\"")
          .contains("\"feature\":\"" + feature + "\"")
          .contains("\"edition\":\"business\"")
          .contains("\"reason\":\"not_in_edition\"");
    }
  }

  @Test
  void neverForwardsLicenseHeadersUpstream() {
    var exchange =
        license.send(
            Request.get("/orders/42")
                .withHeader("x-marchproxy-license", "MPL-1-eyJlZGl0aW9uIjoiYnVzaW5lc3MifQ.sig")
                .withHeader("x-marchproxy-license-key", "MPL-1-secret")
                .withHeader("x-license", "MPL-1-secret")
                .withHeader("accept", "application/json"));

    assertThat(exchange.forwarded()).isTrue();
    assertThat(exchange.upstreamRequestHeaders())
        .doesNotContainKeys("x-marchproxy-license", "x-marchproxy-license-key", "x-license")
        .containsEntry("accept", "application/json");
  }

  @Test
  void refusesEveryGatedFeatureOnceTheLicenseHasExpired() throws Exception {
    String expired =
        CONFIG.replace(
            "\"edition\": \"business\",",
            "\"edition\": \"business\", \"expires_at\": "
                + (Instant.now().getEpochSecond() - 60)
                + ",");
    try (var host = FilterHost.start(Filter.LICENSE, expired)) {
      var gated = host.send(Request.get("/admin/sso/login"));
      assertThat(gated.status()).isEqualTo(402);
      assertThat(gated.body())
          .contains("\"feature\":\"sso\"")
          .contains("\"reason\":\"license_expired\"");
      assertThat(host.send(Request.get("/orders/42")).status()).isEqualTo(200);
    }
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "not json",
        "{}",
        "{\"edition\": \"business\\r\\nx-injected: 1\"}",
        "{\"edition\": \"business\", \"rules\": [{\"path_prefix\": \"reports\", \"feature\": \"r\"}]}",
        "{\"edition\": \"business\", \"edition_header\": \"bad header\"}"
      })
  void refusesABadConfiguration(String configuration) {
    assertThatThrownBy(() -> FilterHost.start(Filter.LICENSE, configuration).close())
        .isInstanceOf(StartException.class);
  }
}
