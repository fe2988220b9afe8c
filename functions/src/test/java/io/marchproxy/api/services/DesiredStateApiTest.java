package io.marchproxy.api.services;

import static org.assertj.core.api.Assertions.assertThat;

import io.marchproxy.api.testing.ApiTest;
import io.micronaut.test.extensions.junit5.annotation.MicronautTest;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Services, routes and mappings: validation, references, ETags and the revisions they make. */
@MicronautTest(transactional = false)
class DesiredStateApiTest extends ApiTest {

  private String cluster;

  @BeforeAll
  void cluster() throws Exception {
    io.marchproxy.api.license.LicenseApiTest.installEnterprise(this);
    cluster = createCluster("desired");
  }

  private String base(String kind) {
    return "/api/v1/clusters/" + cluster + "/" + kind;
  }

  static Map<String, Object> httpService(String name, int port) {
    return Map.of(
        "name",
        name,
        "protocol",
        "http",
        "endpoints",
        List.of(
            Map.of("host", "10.0.0.1", "port", port, "region", "eu-west-1", "zone", "eu-west-1a")));
  }

  private long revision() {
    return Long.parseLong(sql("select current_revision from clusters where id = ?::uuid", cluster));
  }

  @Test
  void aServiceIsValidatedStoredAndMakesOneRevision() {
    long before = revision();
    var created = post(base("services"), httpService("web", 8080), admin()).expect(201);
    assertThat(created.header("ETag")).isEqualTo("\"1\"");
    @SuppressWarnings("unchecked")
    var svc = (Map<String, Object>) created.map().get("service");
    assertThat(svc.get("lbPolicy")).isEqualTo("round_robin");
    assertThat(revision()).isEqualTo(before + 1);
    String doc =
        sql(
            "select document from config_revisions where cluster_id = ?::uuid and revision = ?",
            cluster,
            before + 1);
    assertThat(doc)
        .contains("\"name\":\"web\"")
        .contains("\"port\":8080")
        .doesNotContain("createdAt");

    // Writing the same spec again changes nothing: no new revision.
    put(base("services") + "/" + svc.get("id"), httpService("web", 8080), admin()).expect(200);
    assertThat(revision()).isEqualTo(before + 1);

    post(base("services"), httpService("web", 8081), admin()).expectProblem(409, "conflict");
    assertThat(revision()).as("a failed write makes no revision").isEqualTo(before + 1);
  }

  @Test
  void everyInvalidFieldIsListed() {
    var p =
        post(
                base("services"),
                Map.of(
                    "name",
                    "Bad!",
                    "protocol",
                    "smtp",
                    "endpoints",
                    List.of(Map.of("host", "-bad-", "port", 70000, "weight", 0)),
                    "lbPolicy",
                    "fastest"),
                admin())
            .expectProblem(400, "validation-failed");
    assertThat(p.body())
        .contains("\"field\":\"name\"")
        .contains("\"field\":\"protocol\"")
        .contains("\"field\":\"endpoints[0].host\"")
        .contains("\"field\":\"endpoints[0].port\"")
        .contains("\"field\":\"endpoints[0].weight\"")
        .contains("\"field\":\"lbPolicy\"");
    var tooMany = new java.util.ArrayList<Map<String, Object>>();
    for (int i = 0; i < 1001; i++) {
      tooMany.add(Map.of("host", "10.0.0.1", "port", 1000 + i));
    }
    assertThat(
            post(
                    base("services"),
                    Map.of("name", "many", "protocol", "tcp", "endpoints", tooMany),
                    admin())
                .expectProblem(400, "validation-failed")
                .body())
        .contains("at most 1000");
    post(
            base("services"),
            Map.of(
                "name",
                "u",
                "protocol",
                "udp",
                "endpoints",
                List.of(Map.of("host", "h", "port", 53)),
                "auth",
                Map.of("mode", "token")),
            admin())
        .expectProblem(400, "validation-failed");
  }

  @Test
  void routesMustNameExistingHttpServicesAndServicesInUseCannotBeDeleted() {
    var api = post(base("services"), httpService("api", 9000), admin()).expect(201);
    @SuppressWarnings("unchecked")
    String apiId = (String) ((Map<String, Object>) api.map().get("service")).get("id");
    var route =
        Map.of(
            "name",
            "api-route",
            "hosts",
            List.of("api.example.com"),
            "match",
            Map.of("pathPrefix", "/v1"),
            "backends",
            List.of(Map.of("service", "api", "weight", 100)));
    var created = post(base("routes"), route, admin()).expect(201);
    assertThat(created.map().get("priority")).isEqualTo(0);

    var missing =
        post(
                base("routes"),
                Map.of(
                    "name",
                    "r2",
                    "hosts",
                    List.of("x.example.com"),
                    "match",
                    Map.of("pathPrefix", "/"),
                    "backends",
                    List.of(Map.of("service", "nope"))),
                admin())
            .expectProblem(400, "validation-failed");
    assertThat(missing.body()).contains("no service named 'nope'");
    post(
            base("routes"),
            Map.of(
                "name",
                "r3",
                "hosts",
                List.of("x.example.com"),
                "match",
                Map.of("pathPrefix", "/", "pathExact", "/a"),
                "backends",
                List.of(Map.of("service", "api"))),
            admin())
        .expectProblem(400, "validation-failed");
    post(
            base("routes"),
            Map.of(
                "name",
                "r4",
                "hosts",
                List.of("x.example.com"),
                "match",
                Map.of("pathRegex", "(unclosed"),
                "backends",
                List.of(Map.of("service", "api"))),
            admin())
        .expectProblem(400, "validation-failed");
    post(
            base("routes"),
            Map.of(
                "name",
                "r5",
                "hosts",
                List.of("x.example.com"),
                "match",
                Map.of("pathPrefix", "/"),
                "backends",
                List.of(Map.of("service", "api")),
                "auth",
                Map.of("required", true)),
            admin())
        .expectProblem(400, "validation-failed");

    var conflict = delete(base("services") + "/" + apiId, admin()).expectProblem(409, "conflict");
    assertThat(conflict.str("detail")).contains("route api-route");
    get(base("services") + "/" + apiId, admin()).expect(200);
  }

  @Test
  void mappingsCheckPortsProtocolsAndSources() {
    post(
            base("services"),
            Map.of(
                "name",
                "db",
                "protocol",
                "tcp",
                "endpoints",
                List.of(Map.of("host", "db.internal", "port", 5432))),
            admin())
        .expect(201);
    post(
            base("services"),
            Map.of(
                "name",
                "dns",
                "protocol",
                "udp",
                "endpoints",
                List.of(Map.of("host", "10.0.0.53", "port", 53))),
            admin())
        .expect(201);
    var m =
        Map.<String, Object>of(
            "name",
            "pg",
            "protocol",
            "tcp",
            "listenPort",
            15432,
            "service",
            "db",
            "allowedSources",
            Map.of("cidrs", List.of("10.0.0.0/8", "2001:db8::/32")),
            "perSourceLimits",
            Map.of("connectionsPerSecond", 50, "maxConnections", 20),
            "bandwidthClass",
            "gold");
    var created = post(base("mappings"), m, admin()).expect(201);
    assertThat(created.map().get("idleTimeoutMs")).isEqualTo(3_600_000);
    var taken =
        post(
                base("mappings"),
                Map.of("name", "pg2", "protocol", "tcp", "listenPort", 15432, "service", "db"),
                admin())
            .expectProblem(409, "conflict");
    assertThat(taken.str("detail")).contains("tcp port 15432 is already used by mapping 'pg'");
    post(
            base("mappings"),
            Map.of("name", "dns-tcp", "protocol", "tcp", "listenPort", 53, "service", "dns"),
            admin())
        .expectProblem(400, "validation-failed");
    var bad =
        post(
                base("mappings"),
                Map.of(
                    "name",
                    "x",
                    "protocol",
                    "udp",
                    "listenPort",
                    0,
                    "service",
                    "dns",
                    "allowedSources",
                    Map.of("cidrs", List.of("10.0.0.1/8", "nonsense")),
                    "sendProxyProtocol",
                    "v2"),
                admin())
            .expectProblem(400, "validation-failed");
    assertThat(bad.body())
        .contains("listenPort")
        .contains("allowedSources.cidrs[0]")
        .contains("allowedSources.cidrs[1]")
        .contains("sendProxyProtocol");
  }

  @Test
  void aStaleIfMatchIsRefusedAndNothingIsWritten() {
    var created = post(base("services"), httpService("etag", 7000), admin()).expect(201);
    @SuppressWarnings("unchecked")
    String id = (String) ((Map<String, Object>) created.map().get("service")).get("id");
    put(base("services") + "/" + id, httpService("etag", 7001), admin(), "If-Match", "\"1\"")
        .expect(200);
    long rev = revision();
    put(base("services") + "/" + id, httpService("etag", 7002), admin(), "If-Match", "\"1\"")
        .expectProblem(412, "precondition-failed");
    assertThat(get(base("services") + "/" + id, admin()).expect(200).body()).contains("7001");
    assertThat(revision()).isEqualTo(rev);
  }

  @Test
  void serviceCredentialsAreShownOnceHashedOrEncryptedAndRotateWithOverlap() {
    var created =
        post(
                base("services"),
                Map.of(
                    "name",
                    "secure",
                    "protocol",
                    "http",
                    "endpoints",
                    List.of(Map.of("host", "10.1.1.1", "port", 80)),
                    "auth",
                    Map.of("mode", "token")),
                admin())
            .expect(201);
    @SuppressWarnings("unchecked")
    var cred = (Map<String, Object>) created.map().get("credential");
    String token = (String) cred.get("token");
    assertThat(token).startsWith("mps_");
    @SuppressWarnings("unchecked")
    String sid = (String) ((Map<String, Object>) created.map().get("service")).get("id");
    assertThat(get(base("services") + "/" + sid + "/credentials", admin()).expect(200).body())
        .doesNotContain(token);
    assertThat(
            sql(
                "select count(*) from service_secrets where token_hash = encode(sha256(?::bytea), 'hex')",
                token))
        .isEqualTo("1");
    String doc =
        sql(
            "select document from config_revisions where cluster_id = ?::uuid order by revision desc limit 1",
            cluster);
    assertThat(doc).doesNotContain(token).contains("tokenSha256");

    var rotated =
        post(
                base("services") + "/" + sid + "/credentials/" + cred.get("id") + "/rotate",
                Map.of("graceSeconds", 300),
                admin())
            .expect(201);
    assertThat(rotated.body()).contains("previousExpiresAt");
    assertThat(
            sql(
                "select count(*) from service_secrets where service_id = ?::uuid and revoked_at is null",
                sid))
        .isEqualTo("2");

    var jwt =
        post(
                base("services"),
                Map.of(
                    "name",
                    "jwt-svc",
                    "protocol",
                    "grpc",
                    "endpoints",
                    List.of(Map.of("host", "10.1.1.2", "port", 81)),
                    "auth",
                    Map.of("mode", "jwt")),
                admin())
            .expect(201);
    @SuppressWarnings("unchecked")
    String secret = (String) ((Map<String, Object>) jwt.map().get("credential")).get("jwtSecret");
    assertThat(secret).hasSizeGreaterThan(40);
    assertThat(
            sql(
                "select count(*) from service_secrets where position(convert_to(?, 'UTF8') in secret_ciphertext) > 0",
                secret))
        .isEqualTo("0");
    assertThat(
            sql(
                "select count(*) from audit_events where after::text like '%' || ? || '%' or after::text like '%' || ? || '%'",
                secret, token))
        .isEqualTo("0");
  }
}
