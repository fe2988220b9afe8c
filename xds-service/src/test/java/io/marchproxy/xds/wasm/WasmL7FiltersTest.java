package io.marchproxy.xds.wasm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.marchproxy.core.config.ClusterConfig;
import io.marchproxy.core.config.ClusterConfigRenderer;
import io.marchproxy.core.crypto.Sealed;
import io.marchproxy.core.crypto.SecretBox;
import io.marchproxy.core.crypto.Tokens;
import io.marchproxy.core.license.LicenseClaims;
import io.marchproxy.core.license.LicenseMint;
import io.marchproxy.core.license.LicenseVerifier;
import io.marchproxy.core.testing.TestPostgres;
import io.marchproxy.wasm.FilterHost;
import io.marchproxy.xds.translate.L7Filters;
import io.marchproxy.xds.translate.WasmFilters;
import io.micronaut.test.extensions.junit5.annotation.MicronautTest;
import io.micronaut.test.support.TestPropertyProvider;
import io.micronaut.transaction.TransactionOperations;
import jakarta.inject.Inject;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.Statement;
import java.time.Instant;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The bean against a real Postgres: JWT secrets sealed the way the API seals them (SecretBox,
 * context {@code service-secret:<id>}) and a license minted with a test key come out as filter
 * configurations the real auth filter accepts.
 */
@MicronautTest(transactional = false)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class WasmL7FiltersTest implements TestPropertyProvider {

  static final KeyPair LICENSE_KEYS = licenseKeys();

  @Inject WasmL7Filters filters;
  @Inject SecretBox box;
  @Inject ClusterConfigRenderer renderer;
  @Inject TransactionOperations<Connection> tx;
  private String url;

  @Override
  public Map<String, String> getProperties() {
    var props = new HashMap<>(TestPostgres.datasourceProperties());
    url = props.get("datasources.default.url");
    props.put("marchproxy.xds.grpc-port", "0");
    props.put("marchproxy.master-key", Base64.getEncoder().encodeToString(new byte[32]));
    props.put(
        "marchproxy.license.public-key",
        Base64.getEncoder().encodeToString(LICENSE_KEYS.getPublic().getEncoded()));
    return props;
  }

  @Test
  void anApiIssuedJwtSecretVerifiesInTheRenderedAuthFilter() throws Exception {
    UUID cluster = cluster("jwt-secrets");
    UUID service = service(cluster, "orders", "{\"endpoints\":[],\"auth\":{\"mode\":\"jwt\"}}");
    route(cluster, "orders", "orders", "{\"required\":true}");
    // What the API hands out: 32 random bytes, base64url; the HMAC key is that text's bytes.
    String secret = Base64.getUrlEncoder().withoutPadding().encodeToString(Tokens.randomBytes(32));
    UUID active = jwtCredential(service, secret, "service-secret:");
    UUID revoked =
        jwtCredential(service, "revoked-secret-revoked-secret-0123456789", "service-secret:");
    sql("update service_secrets set revoked_at = now() where id = '" + revoked + "'");

    L7Filters.Chain chain = filters.chain(document(cluster));

    String auth = configuration(chain, "marchproxy.auth.orders");
    assertThat(auth)
        .contains(active.toString())
        .doesNotContain(revoked.toString())
        .contains(Base64.getEncoder().encodeToString(secret.getBytes(StandardCharsets.UTF_8)));
    try (FilterHost host = FilterHost.start(FilterHost.Filter.AUTH, auth)) {
      String jwt =
          hs256(secret, "{\"sub\":\"ci\",\"exp\":" + (Instant.now().getEpochSecond() + 60) + "}");
      assertThat(
              host.send(
                      FilterHost.Request.get("/orders")
                          .withHeader("authorization", "Bearer " + jwt))
                  .status())
          .isEqualTo(200);
      assertThat(host.send(FilterHost.Request.get("/orders")).status()).isEqualTo(401);
    }
  }

  @Test
  void theInstalledLicenseGivesEditionFeaturesAndTheEndOfItsGrace() throws Exception {
    long exp = Instant.parse("2031-01-01T00:00:00Z").getEpochSecond();
    String key =
        LicenseMint.sign(
            LICENSE_KEYS.getPrivate(),
            new LicenseClaims(
                LicenseVerifier.ISSUER, "acme", "enterprise", 50, 5, List.of("sso"), 0, exp, "j1"));
    sql("delete from license");
    sql("insert into license (id, token) values (1, '" + key + "')");
    try {
      WasmFilters.InstalledLicense license = filters.installedLicense();
      assertThat(license.edition()).isEqualTo("enterprise");
      assertThat(license.features()).containsExactly("sso");
      assertThat(license.featuresUntil()).isEqualTo(exp + 14 * 24 * 3600);
      sql("update license set token = 'not-a-license' where id = 1");
      assertThat(filters.installedLicense()).isEqualTo(WasmFilters.InstalledLicense.COMMUNITY);
    } finally {
      sql("delete from license");
    }
    assertThat(filters.installedLicense()).isEqualTo(WasmFilters.InstalledLicense.COMMUNITY);
  }

  @Test
  void aSecretThatCannotBeOpenedFailsTheBuildWithoutShowingIt() throws Exception {
    UUID cluster = cluster("sealed-elsewhere");
    UUID service = service(cluster, "api", "{\"endpoints\":[],\"auth\":{\"mode\":\"jwt\"}}");
    route(cluster, "api", "api", "{\"required\":true}");
    String secret = "sealed-for-another-context-0123456789abcdef";
    UUID credential = jwtCredential(service, secret, "certificate:");

    ClusterConfig doc = document(cluster);
    assertThatThrownBy(() -> filters.chain(doc))
        .isInstanceOf(WasmL7Filters.MaterialUnavailableException.class)
        .hasMessageContaining(credential.toString())
        .hasMessageNotContaining(secret);
  }

  @Test
  void envoyLoadsTheModulesFromTheImageDirectoryByDefault() throws Exception {
    L7Filters.Chain chain = filters.chain(document(cluster("code-directory")));
    for (HttpFilter filter : chain.beforeRouter()) {
      var vm =
          filter
              .getTypedConfig()
              .unpack(io.envoyproxy.envoy.extensions.filters.http.wasm.v3.Wasm.class)
              .getConfig()
              .getVmConfig();
      String module = vm.getVmId().substring("marchproxy.".length());
      assertThat(vm.getCode().getLocal().getFilename())
          .isEqualTo("/etc/envoy/wasm/" + module + ".wasm");
      assertThat(vm.getEnvironmentVariables().getKeyValuesMap())
          .containsEntry(WasmFilters.CODE_SHA256_VARIABLE, filters.codeSha256().get(module));
    }
  }

  @Test
  void theCodeHashesAreTheBuiltFilters() {
    assertThat(filters.codeSha256().keySet())
        .containsExactlyInAnyOrderElementsOf(WasmFilters.MODULES);
    assertThat(filters.codeSha256().values()).allMatch(h -> h.matches("[0-9a-f]{64}"));
  }

  // --- helpers

  private ClusterConfig document(UUID cluster) {
    return tx.executeRead(status -> renderer.render(cluster)).orElseThrow().config();
  }

  private static String configuration(L7Filters.Chain chain, String name) {
    HttpFilter filter =
        chain.beforeRouter().stream()
            .filter(f -> f.getName().equals(name))
            .findFirst()
            .orElseThrow();
    return WasmFilters.pluginConfiguration(filter);
  }

  private UUID cluster(String name) throws Exception {
    UUID id = UUID.randomUUID();
    sql("insert into clusters (id, name) values ('" + id + "', '" + name + "')");
    return id;
  }

  private UUID service(UUID cluster, String name, String spec) throws Exception {
    UUID id = UUID.randomUUID();
    sql(
        "insert into services (id, cluster_id, name, protocol, spec) values ('"
            + id
            + "', '"
            + cluster
            + "', '"
            + name
            + "', 'http', '"
            + spec
            + "')");
    return id;
  }

  private void route(UUID cluster, String name, String service, String auth) throws Exception {
    sql(
        "insert into routes (id, cluster_id, name, spec) values (gen_random_uuid(), '"
            + cluster
            + "', '"
            + name
            + "', '{\"match\":{\"pathPrefix\":\"/\"},\"backends\":[{\"service\":\""
            + service
            + "\"}],\"auth\":"
            + auth
            + "}')");
  }

  /** Seals like ServiceCredentials does; {@code contextPrefix} other than the API's breaks it. */
  private UUID jwtCredential(UUID service, String secret, String contextPrefix) throws Exception {
    UUID id = UUID.randomUUID();
    Sealed sealed = box.seal(secret.getBytes(StandardCharsets.UTF_8), contextPrefix + id);
    try (Connection c = TestPostgres.connect(url);
        PreparedStatement ps =
            c.prepareStatement(
                "insert into service_secrets (id, service_id, kind, prefix, secret_ciphertext,"
                    + " secret_wrapped_key, secret_kek) values (?, ?, 'jwt', 'jwt_test', ?, ?, ?)")) {
      ps.setObject(1, id);
      ps.setObject(2, service);
      ps.setBytes(3, sealed.ciphertext());
      ps.setBytes(4, sealed.wrappedKey());
      ps.setString(5, sealed.kekId());
      ps.executeUpdate();
    }
    return id;
  }

  private void sql(String statement) throws Exception {
    try (Connection c = TestPostgres.connect(url);
        Statement s = c.createStatement()) {
      s.execute(statement);
    }
  }

  private static String hs256(String secret, String claims) throws Exception {
    Base64.Encoder b64 = Base64.getUrlEncoder().withoutPadding();
    String input =
        b64.encodeToString("{\"alg\":\"HS256\",\"typ\":\"JWT\"}".getBytes(StandardCharsets.UTF_8))
            + "."
            + b64.encodeToString(claims.getBytes(StandardCharsets.UTF_8));
    Mac mac = Mac.getInstance("HmacSHA256");
    mac.init(new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
    return input + "." + b64.encodeToString(mac.doFinal(input.getBytes(StandardCharsets.US_ASCII)));
  }

  private static KeyPair licenseKeys() {
    try {
      return KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }
}
