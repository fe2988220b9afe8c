package io.marchproxy.api.license;

import static org.assertj.core.api.Assertions.assertThat;

import io.marchproxy.api.testing.ApiTest;
import io.marchproxy.core.license.LicenseClaims;
import io.marchproxy.core.license.LicenseMint;
import io.marchproxy.core.license.LicenseVerifier;
import io.micronaut.test.extensions.junit5.annotation.MicronautTest;
import java.security.KeyFactory;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.spec.PKCS8EncodedKeySpec;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

@MicronautTest(transactional = false)
public class LicenseApiTest extends ApiTest {

  public static PrivateKey testPrivateKey() throws Exception {
    return KeyFactory.getInstance("Ed25519")
        .generatePrivate(
            new PKCS8EncodedKeySpec(
                Base64.getDecoder().decode(resource("/license/test-private-key.b64"))));
  }

  public static String mint(int maxProxies, int maxClusters, List<String> features, Instant expires)
      throws Exception {
    return LicenseMint.sign(
        testPrivateKey(),
        new LicenseClaims(
            LicenseVerifier.ISSUER,
            "Acme",
            "enterprise",
            maxProxies,
            maxClusters,
            features,
            Instant.now().getEpochSecond(),
            expires.getEpochSecond(),
            null));
  }

  /** Installs an enterprise license (100 proxies, 50 clusters) through the API. */
  public static void installEnterprise(ApiTest t) throws Exception {
    t.put(
            "/api/v1/license",
            Map.of("key", mint(100, 50, List.of("waf"), Instant.now().plus(365, ChronoUnit.DAYS))),
            t.admin())
        .expect(200);
  }

  @Test
  void communityWithoutAKeyAndEnterpriseWithOne() throws Exception {
    var community = get("/api/v1/license", admin()).expect(200);
    assertThat(community.body())
        .contains("\"edition\":\"community\"")
        .contains("\"maxProxies\":3")
        .contains("\"maxClusters\":1");

    createCluster("only-one");
    var refused =
        post("/api/v1/clusters", Map.of("name", "second"), admin())
            .expectProblem(403, "license-limit");
    assertThat(refused.str("limit")).isEqualTo("maxClusters");
    assertThat(refused.str("detail")).contains("allows 1 cluster");

    String key = mint(10, 5, List.of("waf", "sso"), Instant.now().plus(30, ChronoUnit.DAYS));
    var installed = put("/api/v1/license", Map.of("key", key), admin()).expect(200);
    assertThat(installed.body())
        .contains("\"edition\":\"enterprise\"")
        .contains("\"customer\":\"Acme\"")
        .contains("\"status\":\"valid\"")
        .doesNotContain(key);
    post("/api/v1/clusters", Map.of("name", "second"), admin()).expect(201);
    assertThat(sql("select count(*) from audit_events where action = 'license.install'"))
        .isEqualTo("1");
  }

  @Test
  void keysSignedByAnotherKeyOrMalformedAreRefused() throws Exception {
    String before = sql("select coalesce(max(token), 'none') from license");
    var other = KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
    String forged =
        LicenseMint.sign(
            other.getPrivate(),
            new LicenseClaims(
                LicenseVerifier.ISSUER,
                "Evil",
                "enterprise",
                1000,
                1000,
                List.of(),
                0,
                Instant.now().plus(1, ChronoUnit.DAYS).getEpochSecond(),
                null));
    var p =
        put("/api/v1/license", Map.of("key", forged), admin())
            .expectProblem(400, "validation-failed");
    assertThat(p.body()).contains("signature does not verify");
    put("/api/v1/license", Map.of("key", "abc"), admin()).expectProblem(400, "validation-failed");
    put("/api/v1/license", Map.of("key", "a.b.c"), admin()).expectProblem(400, "validation-failed");
    put("/api/v1/license", Map.of(), admin()).expectProblem(400, "validation-failed");
    assertThat(sql("select coalesce(max(token), 'none') from license"))
        .as("nothing written")
        .isEqualTo(before);
  }

  @Test
  void anExpiredKeyHasAGracePeriodThenFallsBackToCommunity() throws Exception {
    String inGrace = mint(10, 5, List.of(), Instant.now().minus(2, ChronoUnit.DAYS));
    assertThat(put("/api/v1/license", Map.of("key", inGrace), admin()).expect(200).body())
        .contains("\"status\":\"grace\"")
        .contains("\"maxProxies\":10");
    String pastGrace = mint(10, 5, List.of(), Instant.now().minus(20, ChronoUnit.DAYS));
    assertThat(put("/api/v1/license", Map.of("key", pastGrace), admin()).expect(200).body())
        .contains("\"status\":\"expired\"")
        .contains("\"maxProxies\":3");
  }

  @Test
  void onlyAdminsInstall() throws Exception {
    // viewer tokens come with the users API; an unauthenticated call is refused here.
    put("/api/v1/license", Map.of("key", "x"), null).expectProblem(401, "unauthorized");
  }
}
