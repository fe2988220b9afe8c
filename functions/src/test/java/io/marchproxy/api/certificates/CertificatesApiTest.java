package io.marchproxy.api.certificates;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.ThrowableProxyUtil;
import ch.qos.logback.core.read.ListAppender;
import io.marchproxy.api.license.LicenseApiTest;
import io.marchproxy.api.testing.ApiTest;
import io.marchproxy.core.crypto.Sealed;
import io.marchproxy.core.crypto.SecretBox;
import io.micronaut.test.extensions.junit5.annotation.MicronautTest;
import jakarta.inject.Inject;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

@MicronautTest(transactional = false)
class CertificatesApiTest extends ApiTest {

  @Inject SecretBox box;

  // Keys are slow to make; one set for the class.
  private final KeyPair rootKeys = TestPki.rsa(2048);
  private final KeyPair intermediateKeys = TestPki.rsa(2048);
  private final KeyPair leafKeys = TestPki.rsa(2048);
  private final KeyPair otherRsaKeys = TestPki.rsa(2048);
  private final KeyPair ecLeafKeys = TestPki.ec("secp256r1");
  private final TestPki.Issued root = TestPki.root("MarchProxy Test Root", rootKeys);
  private final TestPki.Issued intermediate =
      TestPki.intermediate(root, "MarchProxy Test Intermediate", intermediateKeys);

  private final Map<String, String> clusters = new HashMap<>();

  /** Clusters by name, made once per class (the class installs an enterprise license). */
  private String cluster(String name) throws Exception {
    if (clusters.isEmpty()) {
      LicenseApiTest.installEnterprise(this);
    }
    if (!clusters.containsKey(name)) {
      clusters.put(name, createCluster(name));
    }
    return clusters.get(name);
  }

  private static String certs(String clusterId) {
    return "/api/v1/clusters/" + clusterId + "/certificates";
  }

  private static Map<String, Object> upload(String name, String certificatePem, String keyPem) {
    var body = new LinkedHashMap<String, Object>();
    body.put("name", name);
    body.put("certificatePem", certificatePem);
    if (keyPem != null) {
      body.put("privateKeyPem", keyPem);
    }
    return body;
  }

  private TestPki.Issued leaf(String cn, KeyPair keys, Duration validFor, String... sans) {
    return TestPki.leaf(intermediate, cn, keys, validFor, sans);
  }

  private static String sha256(byte[] der) throws Exception {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(der));
  }

  /** What a failed request must leave untouched. */
  private String writes() {
    return sql(
        "select (select count(*) from certificates) || '/' || (select count(*) from audit_events)"
            + " || '/' || (select count(*) from config_revisions)");
  }

  private String latestDocument(String clusterId) {
    return sql(
        "select document::text from config_revisions where cluster_id = ?::uuid"
            + " order by revision desc limit 1",
        clusterId);
  }

  @Test
  void uploadReadReplaceAndDeleteAnRsaChain() throws Exception {
    String cid = cluster("tls-rsa");
    var issued =
        leaf("www.example.com", leafKeys, Duration.ofDays(90), "www.example.com", "10.0.0.1");
    long revisionsBefore =
        Long.parseLong(
            sql("select count(*) from config_revisions where cluster_id = ?::uuid", cid));

    var created =
        post(
                certs(cid),
                upload("www", issued.pem() + intermediate.pem(), issued.pkcs8Pem()),
                admin())
            .expect(201);
    assertThat(created.header("ETag")).isEqualTo("\"1\"");
    Map<String, Object> c = created.map();
    String id = (String) c.get("id");
    String fingerprint = sha256(issued.certificate().getEncoded());
    assertThat(c)
        .containsEntry("name", "www")
        .containsEntry("source", "upload")
        .containsEntry("keyType", "RSA-2048")
        .containsEntry("status", "valid")
        .containsEntry("fingerprintSha256", fingerprint)
        .containsEntry("serial", issued.certificate().getSerialNumber().toString(16))
        .containsEntry("subject", "CN=www.example.com")
        .containsEntry("issuer", "CN=MarchProxy Test Intermediate")
        .containsEntry("sans", List.of("www.example.com", "10.0.0.1"))
        .containsEntry("notAfter", issued.certificate().getNotAfter().toInstant().toString());
    assertNoKey(created.body(), issued);

    // The key is stored sealed: not in the clear, and it opens (with its context) to the key.
    assertThat(
            sql(
                "select position(convert_to(?, 'UTF8') in key_ciphertext) from certificates"
                    + " where id = ?::uuid",
                issued.keyFragment(),
                id))
        .isEqualTo("0");
    assertThat(sql("select count(*) from certificates where chain_pem like '%PRIVATE%'"))
        .isEqualTo("0");
    byte[] opened = openStoredKey(id);
    assertThat(new String(opened, StandardCharsets.US_ASCII)).isEqualTo(issued.pkcs8Pem());

    // Audit metadata, the cluster config gained the certificate, in one new revision.
    assertThat(
            sql(
                "select count(*) from audit_events where action = 'certificate.create' and entity_id = ?",
                id))
        .isEqualTo("1");
    assertThat(sql("select count(*) from config_revisions where cluster_id = ?::uuid", cid))
        .isEqualTo(String.valueOf(revisionsBefore + 1));
    assertThat(latestDocument(cid)).contains(fingerprint).contains("www.example.com");

    var got = get(certs(cid) + "/" + id, admin()).expect(200);
    assertThat(got.header("ETag")).isEqualTo("\"1\"");
    assertThat(got.str("chainPem"))
        .startsWith("-----BEGIN CERTIFICATE-----")
        .containsOnlyOnce(
            java.util.Base64.getEncoder()
                .encodeToString(intermediate.certificate().getEncoded())
                .substring(0, 60));
    assertNoKey(got.body(), issued);

    // Renewal for the same key: the key may be left out.
    var renewed = leaf("www.example.com", leafKeys, Duration.ofDays(180), "www.example.com");
    var replaced =
        put(
                certs(cid) + "/" + id,
                Map.of(
                    "name", "www", "certificatePem", renewed.pem(), "chainPem", intermediate.pem()),
                admin(),
                "If-Match",
                "\"1\"")
            .expect(200);
    assertThat(replaced.header("ETag")).isEqualTo("\"2\"");
    String renewedFingerprint = sha256(renewed.certificate().getEncoded());
    assertThat(replaced.str("fingerprintSha256")).isEqualTo(renewedFingerprint);
    assertThat(latestDocument(cid)).contains(renewedFingerprint).doesNotContain(fingerprint);
    assertThat(
            sql(
                "select after->>'fingerprintSha256' from audit_events where action = 'certificate.update'"
                    + " and entity_id = ?",
                id))
        .isEqualTo(renewedFingerprint);

    // A stale If-Match: 412, nothing written.
    String before = writes();
    var stale = leaf("www.example.com", leafKeys, Duration.ofDays(30));
    put(
            certs(cid) + "/" + id,
            upload("www", stale.pem() + intermediate.pem(), stale.pkcs8Pem()),
            admin(),
            "If-Match",
            "\"1\"")
        .expectProblem(412, "precondition-failed");
    assertThat(writes()).isEqualTo(before);
    assertThat(sql("select fingerprint_sha256 from certificates where id = ?::uuid", id))
        .isEqualTo(renewedFingerprint);

    // The same upload again changes nothing: same version, no audit event, no revision.
    var again =
        put(
                certs(cid) + "/" + id,
                upload("www", renewed.pem() + intermediate.pem(), issued.pkcs8Pem()),
                admin(),
                "If-Match",
                "\"2\"")
            .expect(200);
    assertThat(again.header("ETag")).isEqualTo("\"2\"");
    assertThat(writes()).isEqualTo(before);

    // A new key must come with the certificate; then the stored key changes (traditional PEM).
    var rekeyed = leaf("www.example.com", otherRsaKeys, Duration.ofDays(90), "www.example.com");
    put(certs(cid) + "/" + id, upload("www", rekeyed.pem() + intermediate.pem(), null), admin())
        .expectProblem(400, "validation-failed");
    assertThat(writes()).isEqualTo(before);
    String traditional = rekeyed.traditionalPem();
    assertThat(traditional).startsWith("-----BEGIN RSA PRIVATE KEY-----");
    var rekeyedResponse =
        put(
                certs(cid) + "/" + id,
                upload("www", rekeyed.pem() + intermediate.pem(), traditional),
                admin(),
                "If-Match",
                "\"2\"")
            .expect(200);
    assertNoKey(rekeyedResponse.body(), rekeyed);
    assertThat(new String(openStoredKey(id), StandardCharsets.US_ASCII))
        .isEqualTo(rekeyed.pkcs8Pem());

    // Delete: a stale If-Match is refused; then it goes, from the config too.
    before = writes();
    delete(certs(cid) + "/" + id, admin(), "If-Match", "\"1\"")
        .expectProblem(412, "precondition-failed");
    assertThat(writes()).isEqualTo(before);
    delete(certs(cid) + "/" + id, admin(), "If-Match", "\"3\"").expect(204);
    get(certs(cid) + "/" + id, admin()).expectProblem(404, "not-found");
    assertThat(latestDocument(cid)).doesNotContain(renewedFingerprint);
    assertThat(
            sql(
                "select count(*) from audit_events where action = 'certificate.delete' and entity_id = ?",
                id))
        .isEqualTo("1");

    // The private keys never reached the audit log, in any form.
    for (var keyed : List.of(issued, rekeyed)) {
      assertThat(
              sql(
                  "select count(*) from audit_events where coalesce(before::text, '') || coalesce(after::text, '')"
                      + " like ?",
                  "%" + keyed.keyFragment() + "%"))
          .isEqualTo("0");
    }
    assertThat(
            sql(
                "select count(*) from audit_events where after::text like '%PRIVATE KEY%' or before::text like '%PRIVATE KEY%'"))
        .isEqualTo("0");
  }

  @Test
  @SuppressWarnings("unchecked")
  void ecKeysInEveryFormAndAChainInItsOwnField() throws Exception {
    String cid = cluster("tls-ec");
    KeyPair ecIntermediateKeys = TestPki.ec("secp384r1");
    var ecIntermediate =
        TestPki.intermediate(root, "MarchProxy EC Intermediate", ecIntermediateKeys);
    var issued =
        TestPki.leaf(
            ecIntermediate,
            "api.example.com",
            ecLeafKeys,
            Duration.ofDays(60),
            "api.example.com",
            "*.api.example.com",
            "2001:db8::1");

    String sec1 = issued.traditionalPem();
    assertThat(sec1).startsWith("-----BEGIN EC PRIVATE KEY-----");
    var body = upload("api", issued.pem(), sec1);
    body.put("chainPem", "intermediate:\n" + ecIntermediate.pem() + root.pem());
    var created = post(certs(cid), body, admin()).expect(201);
    assertThat(created.str("keyType")).isEqualTo("EC-P256");
    assertThat((List<Object>) created.map().get("sans"))
        .hasSize(3)
        .contains("api.example.com", "*.api.example.com");
    assertNoKey(created.body(), issued);
    // Stored chain: only the certificate blocks, leaf first, surrounding text dropped.
    String chain = get(certs(cid) + "/" + created.str("id"), admin()).expect(200).str("chainPem");
    assertThat(chain.split("-----BEGIN CERTIFICATE-----", -1)).hasSize(4);
    assertThat(chain).doesNotContain("intermediate:");

    // PKCS#8 EC key, leaf and intermediate in one field.
    var second =
        TestPki.leaf(
            ecIntermediate, "b.example.com", ecLeafKeys, Duration.ofDays(60), "b.example.com");
    post(certs(cid), upload("b", second.pem() + ecIntermediate.pem(), second.pkcs8Pem()), admin())
        .expect(201);
    assertThat(sql("select count(*) from certificates where cluster_id = ?::uuid", cid))
        .isEqualTo("2");
  }

  @Test
  void invalidUploadsAreRefusedAndWriteNothing() throws Exception {
    String cid = cluster("tls-bad");
    var good = leaf("good.example.com", leafKeys, Duration.ofDays(90), "good.example.com");
    post(certs(cid), upload("taken", good.pem() + intermediate.pem(), good.pkcs8Pem()), admin())
        .expect(201);
    String before = writes();

    // The key of another certificate.
    assertField(
        post(
            certs(cid),
            upload("mismatch", good.pem() + intermediate.pem(), pkcs8(otherRsaKeys)),
            admin()),
        "privateKeyPem",
        "does not belong to the certificate");
    // An EC key for an RSA certificate.
    assertField(
        post(certs(cid), upload("mismatch", good.pem(), pkcs8(ecLeafKeys)), admin()),
        "privateKeyPem",
        "does not belong");
    // Intermediate before the leaf.
    assertField(
        post(
            certs(cid), upload("order", intermediate.pem() + good.pem(), good.pkcs8Pem()), admin()),
        "certificatePem[1]",
        "order the chain leaf first");
    // An "intermediate" with the right name but another key did not sign the leaf.
    var impostor = TestPki.intermediate(root, "MarchProxy Test Intermediate", otherRsaKeys);
    assertField(
        post(certs(cid), upload("forged", good.pem() + impostor.pem(), good.pkcs8Pem()), admin()),
        "certificatePem[0]",
        "is not signed by the key of certificatePem[1]");
    // A leaf cannot issue certificates.
    var notCa = leaf("not-a-ca", otherRsaKeys, Duration.ofDays(90));
    var underNotCa =
        TestPki.issue(
            notCa,
            "under.example.com",
            leafKeys,
            false,
            Instant.now().minusSeconds(60),
            Instant.now().plus(Duration.ofDays(10)));
    assertField(
        post(
            certs(cid),
            upload("not-ca", underNotCa.pem() + notCa.pem(), underNotCa.pkcs8Pem()),
            admin()),
        "certificatePem[1]",
        "is not a CA certificate");
    // Expired and not yet valid leaves.
    Instant now = Instant.now();
    var expired =
        TestPki.issue(
            intermediate,
            "old.example.com",
            leafKeys,
            false,
            now.minus(Duration.ofDays(100)),
            now.minus(Duration.ofDays(1)));
    assertField(
        post(certs(cid), upload("expired", expired.pem(), expired.pkcs8Pem()), admin()),
        "certificatePem",
        "has expired");
    var future =
        TestPki.issue(
            intermediate,
            "new.example.com",
            leafKeys,
            false,
            now.plus(Duration.ofDays(2)),
            now.plus(Duration.ofDays(100)));
    assertField(
        post(certs(cid), upload("future", future.pem(), future.pkcs8Pem()), admin()),
        "certificatePem",
        "is not valid yet");
    // Weak keys and signatures.
    KeyPair small = TestPki.rsa(1024);
    var weak = leaf("weak.example.com", small, Duration.ofDays(30));
    assertField(
        post(certs(cid), upload("weak", weak.pem(), weak.pkcs8Pem()), admin()),
        "certificatePem",
        "1024-bit RSA");
    var sha1 = TestPki.issueWith("SHA1withRSA", intermediate, "sha1.example.com", leafKeys);
    assertField(
        post(certs(cid), upload("sha1", sha1.pem(), sha1.pkcs8Pem()), admin()),
        "certificatePem[0]",
        "SHA1withRSA");
    // Not PEM at all, broken PEM, a key where the chain goes, a certificate where the key goes.
    assertField(
        post(certs(cid), upload("garbage", "hello, world", good.pkcs8Pem()), admin()),
        "certificatePem",
        "holds no PEM CERTIFICATE block");
    assertField(
        post(
            certs(cid),
            upload(
                "broken",
                "-----BEGIN CERTIFICATE-----\n!!!notbase64\n-----END CERTIFICATE-----\n",
                good.pkcs8Pem()),
            admin()),
        "certificatePem",
        "is not valid PEM");
    var leaked =
        post(certs(cid), upload("leaked", good.pem() + good.pkcs8Pem(), good.pkcs8Pem()), admin());
    assertField(leaked, "certificatePem[1]", "is a private key");
    assertNoKey(leaked.body(), good);
    assertField(
        post(certs(cid), upload("swapped", good.pem(), good.pem()), admin()),
        "privateKeyPem",
        "holds a certificate");
    var garbageKey =
        post(
            certs(cid),
            upload(
                "garbage-key",
                good.pem(),
                "-----BEGIN PRIVATE KEY-----\nAAAA"
                    + good.keyFragment()
                    + "\n-----END PRIVATE KEY-----\n"),
            admin());
    assertField(garbageKey, "privateKeyPem", "is not a valid");
    assertThat(garbageKey.body()).doesNotContain(good.keyFragment());
    assertField(
        post(certs(cid), upload("no-key", good.pem(), null), admin()),
        "privateKeyPem",
        "is required");
    // Names: the rules of every resource, and unique within the cluster.
    assertField(
        post(certs(cid), upload("Not A Name", good.pem(), good.pkcs8Pem()), admin()),
        "name",
        "lower-case");
    post(certs(cid), upload("taken", good.pem(), good.pkcs8Pem()), admin())
        .expectProblem(409, "conflict");

    // Renaming onto a taken name, and another cluster's certificate under this cluster's path.
    var second = leaf("second.example.com", leafKeys, Duration.ofDays(90));
    String secondId =
        post(certs(cid), upload("second", second.pem(), second.pkcs8Pem()), admin())
            .expect(201)
            .str("id");
    String elsewhere = cluster("tls-elsewhere");
    before = writes();
    put(certs(cid) + "/" + secondId, upload("taken", second.pem(), null), admin())
        .expectProblem(409, "conflict");
    assertThat(writes()).isEqualTo(before);
    get(certs(elsewhere) + "/" + secondId, admin()).expectProblem(404, "not-found");
    delete(certs(elsewhere) + "/" + secondId, admin()).expectProblem(404, "not-found");
    assertThat(writes()).isEqualTo(before);

    // Limits, named.
    String huge = good.pem() + "x".repeat(CertificateChain.MAX_PEM_BYTES);
    var tooLarge =
        post(certs(cid), upload("huge", huge, good.pkcs8Pem()), admin())
            .expectProblem(413, "payload-too-large");
    assertThat(tooLarge.str("limit")).isEqualTo("maxPemBytes");
    assertThat(tooLarge.str("detail")).contains("certificatePem").contains("65536");
    var body = upload("long", good.pem() + intermediate.pem().repeat(10), good.pkcs8Pem());
    var tooMany = post(certs(cid), body, admin()).expectProblem(400, "validation-failed");
    assertThat(tooMany.str("limit")).isEqualTo("maxChainCertificates");
    assertThat(tooMany.str("detail")).contains("at most 10");

    assertThat(writes()).isEqualTo(before);
  }

  @Test
  void expiringCertificatesPerClusterAndAcrossClusters() throws Exception {
    String a = cluster("exp-a");
    String b = cluster("exp-b");
    var soon = leaf("soon.example.com", leafKeys, Duration.ofDays(5), "soon.example.com");
    var later = leaf("later.example.com", leafKeys, Duration.ofDays(60), "later.example.com");
    var other = leaf("other.example.com", leafKeys, Duration.ofDays(10), "other.example.com");
    post(certs(a), upload("soon", soon.pem(), soon.pkcs8Pem()), admin()).expect(201);
    post(certs(a), upload("later", later.pem(), later.pkcs8Pem()), admin()).expect(201);
    post(certs(b), upload("other", other.pem(), other.pkcs8Pem()), admin()).expect(201);

    var all = get(certs(a), admin()).expect(200);
    assertThat(all.items()).extracting(i -> i.get("name")).containsExactly("later", "soon");
    assertThat(all.items()).allSatisfy(i -> assertThat(i.get("chainPem")).isNull());
    var page = get(certs(a) + "?limit=1", admin()).expect(200);
    assertThat(page.items()).extracting(i -> i.get("name")).containsExactly("later");
    assertThat(
            get(certs(a) + "?limit=1&cursor=" + page.str("nextCursor"), admin())
                .expect(200)
                .items())
        .extracting(i -> i.get("name"))
        .containsExactly("soon");

    var expiring = get(certs(a) + "?expiringWithinDays=30", admin()).expect(200);
    assertThat(expiring.items()).extracting(i -> i.get("name")).containsExactly("soon");
    assertThat(expiring.items().getFirst().get("status")).isEqualTo("expiring");
    get(certs(a) + "?expiringWithinDays=-1", admin()).expectProblem(400, "validation-failed");

    // Across clusters, soonest first, paginated.
    var fleet = get("/api/v1/certificates/expiring?days=30", admin()).expect(200);
    assertThat(fleet.items()).extracting(i -> i.get("name")).containsSubsequence("soon", "other");
    assertThat(fleet.items()).extracting(i -> i.get("name")).doesNotContain("later");
    var first = get("/api/v1/certificates/expiring?days=30&limit=1", admin()).expect(200);
    var next =
        get(
                "/api/v1/certificates/expiring?days=30&limit=1&cursor=" + first.str("nextCursor"),
                admin())
            .expect(200);
    assertThat(next.items().getFirst().get("name"))
        .isNotEqualTo(first.items().getFirst().get("name"));
    get("/api/v1/certificates/expiring?cursor=bm9wZQ", admin())
        .expectProblem(400, "validation-failed");
    assertThat(get("/api/v1/certificates/expiring?days=90", admin()).expect(200).items())
        .extracting(i -> i.get("name"))
        .contains("later");

    // An operator of cluster b sees only b's certificates, and cluster a not at all.
    String operator = token("ops-b", "operator", b);
    assertThat(get("/api/v1/certificates/expiring?days=30", operator).expect(200).items())
        .extracting(i -> i.get("clusterId"))
        .containsOnly(b);
    get(certs(a), operator).expectProblem(404, "not-found");
    String before = writes();
    post(certs(a), upload("sneaky", soon.pem(), soon.pkcs8Pem()), operator)
        .expectProblem(404, "not-found");
    assertThat(writes()).isEqualTo(before);
  }

  @Test
  void viewersReadAndAnonymousCallersAreRefused() throws Exception {
    String cid = cluster("tls-authz");
    var issued = leaf("authz.example.com", leafKeys, Duration.ofDays(90));
    String id =
        post(certs(cid), upload("authz", issued.pem(), issued.pkcs8Pem()), admin())
            .expect(201)
            .str("id");
    String viewer = token("viewer", "viewer", null);
    String before = writes();

    get(certs(cid), viewer).expect(200);
    var read = get(certs(cid) + "/" + id, viewer).expect(200);
    assertNoKey(read.body(), issued);
    var other = leaf("viewer.example.com", leafKeys, Duration.ofDays(90));
    post(certs(cid), upload("by-viewer", other.pem(), other.pkcs8Pem()), viewer)
        .expectProblem(403, "forbidden");
    put(certs(cid) + "/" + id, upload("authz", other.pem(), other.pkcs8Pem()), viewer)
        .expectProblem(403, "forbidden");
    delete(certs(cid) + "/" + id, viewer).expectProblem(403, "forbidden");

    post(certs(cid), upload("anonymous", other.pem(), other.pkcs8Pem()), null)
        .expectProblem(401, "unauthorized");
    get(certs(cid), null).expectProblem(401, "unauthorized");
    get(certs(cid) + "/" + id, null).expectProblem(401, "unauthorized");
    put(certs(cid) + "/" + id, upload("authz", other.pem(), other.pkcs8Pem()), null)
        .expectProblem(401, "unauthorized");
    delete(certs(cid) + "/" + id, null).expectProblem(401, "unauthorized");
    get("/api/v1/certificates/expiring", null).expectProblem(401, "unauthorized");
    assertThat(writes()).isEqualTo(before);

    // An operator writes.
    String operator = token("operator", "operator", cid);
    put(certs(cid) + "/" + id, upload("authz", other.pem(), other.pkcs8Pem()), operator)
        .expect(200);
  }

  @Test
  void privateKeysNeverReachALogLine() throws Exception {
    String cid = cluster("tls-logs");
    var context = (LoggerContext) LoggerFactory.getILoggerFactory();
    Logger root = context.getLogger(Logger.ROOT_LOGGER_NAME);
    Level previous = root.getLevel();
    var appender = new ListAppender<ILoggingEvent>();
    appender.start();
    root.addAppender(appender);
    root.setLevel(Level.DEBUG);
    var issued = leaf("logs.example.com", leafKeys, Duration.ofDays(90), "logs.example.com");
    var other = leaf("logs.example.com", otherRsaKeys, Duration.ofDays(90));
    try {
      String id =
          post(certs(cid), upload("logs", issued.pem(), issued.traditionalPem()), admin())
              .expect(201)
              .str("id");
      put(certs(cid) + "/" + id, upload("logs", other.pem(), other.pkcs8Pem()), admin())
          .expect(200);
      // Failures: a mismatched key, a key among the certificates, garbage posing as a key.
      post(certs(cid), upload("bad", issued.pem(), other.pkcs8Pem()), admin()).expect(400);
      post(certs(cid), upload("bad", issued.pem() + issued.pkcs8Pem(), null), admin()).expect(400);
      post(
              certs(cid),
              upload(
                  "bad", issued.pem(), "-----BEGIN RSA PRIVATE KEY-----\n" + issued.keyFragment()),
              admin())
          .expect(400);
    } finally {
      root.setLevel(previous);
      root.detachAppender(appender);
    }
    assertThat(appender.list).isNotEmpty();
    for (ILoggingEvent event : appender.list) {
      String line =
          event.getFormattedMessage()
              + (event.getThrowableProxy() == null
                  ? ""
                  : ThrowableProxyUtil.asString(event.getThrowableProxy()));
      for (var keyed : List.of(issued, other)) {
        assertThat(line)
            .doesNotContain(keyed.keyFragment())
            .doesNotContain(keyed.keyBase64().substring(0, 60))
            .doesNotContain("PRIVATE KEY-----\n");
      }
    }
  }

  /** An access token of a new user with this role, made through the users API. */
  private String token(String username, String role, String allowedCluster) {
    var user = new LinkedHashMap<String, Object>();
    user.put("username", username);
    user.put("password", username + "-password-1");
    user.put("role", role);
    if (allowedCluster != null) {
      user.put("allowedClusters", List.of(allowedCluster));
    }
    post("/api/v1/users", user, admin()).expect(201);
    return login(username, username + "-password-1").expect(200).str("accessToken");
  }

  private byte[] openStoredKey(String id) {
    String hex =
        sql(
            "select encode(key_ciphertext, 'hex') || ' ' || encode(key_wrapped_key, 'hex') || ' ' || key_kek"
                + " from certificates where id = ?::uuid",
            id);
    String[] parts = hex.split(" ");
    var sealed =
        new Sealed(HexFormat.of().parseHex(parts[0]), HexFormat.of().parseHex(parts[1]), parts[2]);
    return box.open(sealed, CertificateService.keyContext(UUID.fromString(id)));
  }

  private static String pkcs8(KeyPair keys) {
    return new TestPki.Issued(null, keys).pkcs8Pem();
  }

  /** No private key in any form: not as PEM, not as its base64, not as a field. */
  private static void assertNoKey(String body, TestPki.Issued issued) {
    assertThat(body).doesNotContain("PRIVATE KEY").doesNotContain(issued.keyFragment());
    if (!body.contains("\"errors\"")) {
      assertThat(body).doesNotContainIgnoringCase("privateKey");
    }
  }

  @SuppressWarnings("unchecked")
  private static void assertField(ApiTest.Response r, String field, String messagePart) {
    r.expectProblem(
        r.status() == 413 ? 413 : 400,
        r.status() == 413 ? "payload-too-large" : "validation-failed");
    var errors = (List<Map<String, Object>>) r.map().get("errors");
    assertThat(errors)
        .as("field errors of %s", r.body())
        .anySatisfy(
            e -> {
              assertThat(e.get("field")).isEqualTo(field);
              assertThat((String) e.get("message")).contains(messagePart);
            });
  }
}
