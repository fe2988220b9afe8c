package io.marchproxy.xds.translate;

import static org.assertj.core.api.Assertions.assertThat;

import io.envoyproxy.envoy.extensions.filters.http.wasm.v3.Wasm;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.marchproxy.core.config.ClusterConfig;
import io.marchproxy.wasm.FilterHost;
import io.marchproxy.wasm.FilterHost.Exchange;
import io.marchproxy.wasm.FilterHost.Request;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The plugin configurations {@link WasmFilters} renders, run through the real filters: the built
 * {@code .wasm} files in the JVM proxy-wasm host (the wasm module's FilterHost, from its test-jar;
 * this test lives here because xds-service depends on wasm, not the other way round). Input: the
 * golden case {@code http-wasm-filters} and its fake test secrets. Each filter is started the way
 * Envoy would start it, and a request goes through the filter a route enables.
 */
class WasmFiltersInHostTest {

  static final String CASE = "http-wasm-filters";
  static final String ORDERS_OLD_KEY = "GoldenTestOrdersSecretOld0000000000000000x";
  static final String ORDERS_NEW_KEY =
      "GoldenTestOrdersSecretNew0000000000000000000000000000000000000000";
  static final String BILLING_TOKEN = "mps_GoldenTestToken0000000000000000000";

  static L7Filters.Chain chain;
  static final Map<String, FilterHost> hosts = new HashMap<>();

  @BeforeAll
  static void build() throws Exception {
    ClusterConfig doc = GoldenFiles.document(CASE);
    chain = WasmFilters.build(doc, GoldenFiles.material(CASE).orElseThrow());
    for (HttpFilter filter : chain.beforeRouter()) {
      // Throws StartException when the filter refuses the configuration (Envoy would NACK).
      hosts.put(filter.getName(), FilterHost.start(module(filter), config(filter)));
    }
  }

  @AfterAll
  static void stop() {
    hosts.values().forEach(FilterHost::close);
  }

  @Test
  void everyRenderedConfigurationIsAcceptedByItsFilter() {
    assertThat(hosts.keySet())
        .containsExactlyInAnyOrder(
            "marchproxy.metrics",
            "marchproxy.auth.checkout",
            "marchproxy.auth.orders",
            "marchproxy.auth.reports",
            "marchproxy.auth.vault",
            "marchproxy.license",
            "marchproxy.license.advanced_analytics",
            "marchproxy.license.sso");
    assertThat(chain.enabledOn("orders")).containsExactly("marchproxy.auth.orders");
    assertThat(chain.enabledOn("reports"))
        .containsExactly("marchproxy.auth.reports", "marchproxy.license.advanced_analytics");
    assertThat(chain.enabledOn("web")).isEmpty();
  }

  @Test
  void aRouteWithRequiredAuthLetsAValidJwtThroughAndRefusesAMissingOne() {
    Exchange ok = auth("orders", get("/orders/42").withHeader("authorization", bearer(jwt())));
    assertThat(ok.forwarded()).isTrue();
    assertThat(ok.upstreamRequestHeaders()).containsEntry("x-marchproxy-principal", "jwt:alice");

    Exchange missing = auth("orders", get("/orders/42"));
    assertThat(missing.forwarded()).isFalse();
    assertThat(missing.status()).isEqualTo(401);
    assertThat(missing.responseHeaders().get("www-authenticate")).startsWith("Bearer");
  }

  @Test
  void theNewKeyVerifiesWithEachConfiguredAlgorithmItIsLongEnoughFor() {
    String hs512 = sign("HS512", ORDERS_NEW_KEY, claims("orders-api"));
    assertThat(auth("orders", get("/orders").withHeader("authorization", bearer(hs512))).status())
        .isEqualTo(200);
    // The old secret (42 bytes) is too short for HS512 (RFC 7518 3.2): no such key is configured.
    String oldHs512 = sign("HS512", ORDERS_OLD_KEY, claims("orders-api"));
    assertThat(
            auth("orders", get("/orders").withHeader("authorization", bearer(oldHs512))).status())
        .isEqualTo(403);
  }

  @Test
  void aRotatedKeyStopsWorkingAtTheEndOfItsOverlap() {
    // The old orders credential's overlap ended on 2026-03-01 (expiresAt in the document): the
    // filter retires it by its own clock, with no new configuration.
    String old = sign("HS256", ORDERS_OLD_KEY, claims("orders-api"));
    Exchange refused = auth("orders", get("/orders").withHeader("authorization", bearer(old)));
    assertThat(refused.status()).isEqualTo(403);
    assertThat(refused.body()).contains("bad_signature");
  }

  @Test
  void issuerAndAudienceOfTheServiceAreChecked() {
    Exchange wrongAudience =
        auth(
            "orders",
            get("/orders")
                .withHeader(
                    "authorization", bearer(sign("HS256", ORDERS_NEW_KEY, claims("other-api")))));
    assertThat(wrongAudience.status()).isEqualTo(403);
    assertThat(wrongAudience.body()).contains("wrong_audience");
  }

  @Test
  void exemptPathsOfTheRoutePassWithoutAToken() {
    assertThat(auth("orders", get("/orders/healthz")).forwarded()).isTrue();
    assertThat(auth("orders", get("/orders/public/catalog?page=2")).forwarded()).isTrue();
    assertThat(auth("orders", get("/orders/private")).status()).isEqualTo(401);
  }

  @Test
  void oneServicesCredentialDoesNotOpenAnotherServicesRoute() {
    Exchange tokenOnOrders =
        auth("orders", get("/orders").withHeader("authorization", bearer(BILLING_TOKEN)));
    assertThat(tokenOnOrders.status()).isEqualTo(403);
    Exchange jwtOnReports =
        auth("reports", get("/reports/advanced").withHeader("authorization", bearer(jwt())));
    assertThat(jwtOnReports.status()).isEqualTo(403);
  }

  @Test
  void aWeightedRouteAcceptsACredentialOfAnyOfItsBackends() {
    Exchange token =
        auth("checkout", get("/checkout").withHeader("authorization", bearer(BILLING_TOKEN)));
    assertThat(token.forwarded()).isTrue();
    assertThat(token.upstreamRequestHeaders())
        .containsEntry(
            "x-marchproxy-principal", "token:billing/c0000000-0000-4000-8000-000000000073");
    assertThat(
            auth("checkout", get("/checkout").withHeader("authorization", bearer(jwt())))
                .forwarded())
        .isTrue();
  }

  @Test
  void aRequiredRouteWhoseBackendsHaveNoCredentialRefusesEveryone() {
    assertThat(auth("vault", get("/vault")).status()).isEqualTo(401);
    assertThat(
            auth("vault", get("/vault").withHeader("authorization", bearer(BILLING_TOKEN)))
                .status())
        .isEqualTo(403);
  }

  @Test
  void anUnlicensedFeatureAnswers402AndALicensedOneGoesThrough() {
    Exchange unlicensed =
        hosts.get("marchproxy.license.advanced_analytics").send(get("/reports/advanced/q3"));
    assertThat(unlicensed.forwarded()).isFalse();
    assertThat(unlicensed.status()).isEqualTo(402);
    assertThat(unlicensed.body())
        .contains("\"feature\":\"advanced_analytics\"")
        .contains("\"edition\":\"business\"");

    Exchange licensed = hosts.get("marchproxy.license.sso").send(get("/admin/sso/settings"));
    assertThat(licensed.forwarded()).isTrue();
    assertThat(licensed.responseHeaders()).containsEntry("x-marchproxy-edition", "business");
  }

  @Test
  void everyRequestGetsTheEditionAndLosesLicenseHeaders() {
    Exchange any =
        hosts
            .get("marchproxy.license")
            .send(get("/anything").withHeader("x-marchproxy-license-key", "stolen"));
    assertThat(any.forwarded()).isTrue();
    assertThat(any.upstreamRequestHeaders()).doesNotContainKey("x-marchproxy-license-key");
    assertThat(any.responseHeaders()).containsEntry("x-marchproxy-edition", "business");
  }

  @Test
  void metricsCountRequestsByMethod() {
    FilterHost metrics = hosts.get("marchproxy.metrics");
    metrics.send(get("/orders"));
    assertThat(metrics.metrics().value("marchproxy.requests.method.GET")).isPositive();
  }

  // --- helpers

  private static FilterHost.Filter module(HttpFilter filter) throws Exception {
    String vmId = filter.getTypedConfig().unpack(Wasm.class).getConfig().getVmConfig().getVmId();
    return FilterHost.Filter.valueOf(
        vmId.substring("marchproxy.".length()).toUpperCase(Locale.ROOT));
  }

  private static String config(HttpFilter filter) {
    return WasmFilters.pluginConfiguration(filter);
  }

  /** What a request on {@code route} meets: the auth filter that route enables. */
  private static Exchange auth(String route, Request request) {
    List<String> enabled =
        chain.enabledOn(route).stream().filter(n -> n.startsWith(WasmFilters.AUTH)).toList();
    assertThat(enabled).as("auth filters enabled on %s", route).hasSize(1);
    return hosts.get(enabled.getFirst()).send(request);
  }

  private static Request get(String path) {
    return Request.get(path);
  }

  private static String bearer(String token) {
    return "Bearer " + token;
  }

  private static String jwt() {
    return sign("HS256", ORDERS_NEW_KEY, claims("orders-api"));
  }

  private static String claims(String audience) {
    return "{\"sub\":\"alice\",\"iss\":\"https://id.store.example\",\"aud\":\""
        + audience
        + "\",\"exp\":"
        + (Instant.now().getEpochSecond() + 600)
        + "}";
  }

  /** A compact JWS signed by the JDK's own HMAC. */
  static String sign(String alg, String secret, String claims) {
    Base64.Encoder url = Base64.getUrlEncoder().withoutPadding();
    String input =
        url.encodeToString(
                ("{\"alg\":\"" + alg + "\",\"typ\":\"JWT\"}").getBytes(StandardCharsets.UTF_8))
            + "."
            + url.encodeToString(claims.getBytes(StandardCharsets.UTF_8));
    String jdk = "Hmac" + alg.replace("HS", "SHA");
    try {
      Mac mac = Mac.getInstance(jdk);
      mac.init(new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), jdk));
      return input
          + "."
          + url.encodeToString(mac.doFinal(input.getBytes(StandardCharsets.US_ASCII)));
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }
}
