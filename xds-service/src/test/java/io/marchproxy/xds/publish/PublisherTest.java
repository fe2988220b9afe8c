package io.marchproxy.xds.publish;

import static org.assertj.core.api.Assertions.assertThat;

import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import io.marchproxy.core.crypto.Sealed;
import io.marchproxy.core.crypto.SecretBox;
import io.marchproxy.core.crypto.Tokens;
import io.marchproxy.core.testing.TestPostgres;
import io.marchproxy.xds.cache.NodeGroups;
import io.marchproxy.xds.cache.Snapshot;
import io.marchproxy.xds.cache.SnapshotCache;
import io.marchproxy.xds.cache.TypeUrls;
import io.micrometer.core.instrument.MeterRegistry;
import io.micronaut.test.extensions.junit5.annotation.MicronautTest;
import io.micronaut.test.support.TestPropertyProvider;
import jakarta.inject.Inject;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.function.Supplier;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The publisher against a real Postgres: revisions committed as the API commits them (a row in
 * config_revisions, NOTIFY by its trigger) become snapshots for all three kinds; a revision with
 * problems is recorded as failed and the proxies keep the last good snapshot; certificates become
 * SDS secrets with their key opened from the SecretBox.
 */
@MicronautTest(transactional = false)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class PublisherTest implements TestPropertyProvider {

  private static final UUID SHOP = UUID.fromString("0b0e5a3c-0000-4000-8000-000000000002");
  private static final UUID EDGE = UUID.fromString("0b0e5a3c-0000-4000-8000-000000000003");

  @Inject SnapshotCache cache;
  @Inject SecretBox box;
  @Inject MeterRegistry metrics;
  @Inject PublicationLog log;
  @Inject io.marchproxy.xds.report.ProxyReports reports;
  private String url;

  @Override
  public Map<String, String> getProperties() {
    var props = new HashMap<>(TestPostgres.datasourceProperties());
    url = props.get("datasources.default.url");
    props.put("marchproxy.xds.grpc-port", "0");
    props.put("marchproxy.xds.load.resync-interval", "1s");
    return props;
  }

  @Test
  @Order(1)
  void aRevisionBecomesASnapshotForEveryKind() throws Exception {
    exec("insert into clusters (id, name) values (?, 'shop')", SHOP);
    commit(SHOP, 1, fixture("http-basic.json"));

    for (String kind : List.of("envoy", "l4", "grpc")) {
      Snapshot s = await(() -> snapshot(SHOP, kind, 1), "revision 1 of " + kind);
      assertThat(s.committedAt()).isNotNull();
    }
    Snapshot envoy = snapshot(SHOP, "envoy", 1).orElseThrow();
    assertThat(envoy.get(TypeUrls.CLUSTER).byName()).containsKey("svc-web");
    assertThat(envoy.get(TypeUrls.LISTENER).byName()).containsKey("http");
    assertThat(snapshot(SHOP, "grpc", 1).orElseThrow().get(TypeUrls.LISTENER).byName())
        .as("one api_listener per concrete route host")
        .isNotEmpty();
    assertThat(publications(SHOP, 1))
        .containsExactly("envoy published []", "grpc published []", "l4 published []");
  }

  @Test
  @Order(2)
  void aRevisionWithProblemsIsRecordedAndTheLastGoodSnapshotStays() throws Exception {
    double failuresBefore = failures("envoy");
    String broken =
        fixture("http-basic.json")
            .replace(
                "\"backends\": [{\"service\": \"web\"", "\"backends\": [{\"service\": \"nope\"");
    assertThat(broken).contains("\"nope\"");
    commit(SHOP, 2, broken);

    await(() -> publications(SHOP, 2).size() == 3 ? Optional.of(true) : Optional.empty(), "rows");
    List<String> rows = publications(SHOP, 2);
    assertThat(rows.getFirst()).startsWith("envoy failed").contains("nope");
    assertThat(failures("envoy")).isEqualTo(failuresBefore + 1);
    assertThat(snapshot(SHOP, "envoy", 1)).as("proxies keep revision 1").isPresent();
    assertThat(cache.snapshot(NodeGroups.group(SHOP, "envoy")).orElseThrow().revision())
        .isEqualTo(1);

    // The next good revision is published again.
    commit(SHOP, 3, fixture("http-basic.json").replace("10.0.0.12", "10.0.0.13"));
    await(() -> snapshot(SHOP, "envoy", 3), "revision 3");
  }

  @Test
  @Order(3)
  void certificatesBecomeSecretsWithTheirKeyOpened() throws Exception {
    String doc = fixture("https-certificates.json");
    UUID cluster = UUID.fromString(clusterIdOf(doc));
    exec("insert into clusters (id, name) values (?, 'edge')", cluster);
    // First without the certificate rows: the revision cannot be served over HTTPS.
    commit(cluster, 1, doc);
    await(
        () -> publications(cluster, 1).size() == 3 ? Optional.of(true) : Optional.empty(), "rows");
    assertThat(publications(cluster, 1).getFirst())
        .startsWith("envoy failed")
        .contains("the certificate no longer exists");
    assertThat(cache.snapshot(NodeGroups.group(cluster, "envoy"))).isEmpty();

    Map<String, byte[]> keys = new HashMap<>();
    for (String[] cert :
        new String[][] {
          {"ce000000-0000-4000-8000-000000000001", "example-com-2026"},
          {"ce000000-0000-4000-8000-000000000002", "example-com-2027"},
          {"ce000000-0000-4000-8000-000000000003", "shop-example-org"}
        }) {
      UUID id = UUID.fromString(cert[0]);
      byte[] key = ("-----BEGIN PRIVATE KEY-----\n" + Tokens.generate("k") + "\n").getBytes();
      keys.put("cert-" + cert[1], key);
      Sealed sealed = box.seal(key, "certificate:" + id);
      exec(
          "insert into certificates (id, cluster_id, name, subject, issuer, sans, serial,"
              + " fingerprint_sha256, not_before, not_after, chain_pem, key_ciphertext,"
              + " key_wrapped_key, key_kek, key_type) values (?, ?, ?, 'CN=x', 'CN=x', '{x}', '1',"
              + " repeat('a', 64), now(), now() + interval '1 year', ?, ?, ?, ?, 'EC-P256')",
          id,
          cluster,
          cert[1],
          "-----BEGIN CERTIFICATE-----\n" + cert[1] + "\n-----END CERTIFICATE-----\n",
          sealed.ciphertext(),
          sealed.wrappedKey(),
          sealed.kekId());
    }
    commit(cluster, 2, doc);
    Snapshot s = await(() -> snapshot(cluster, "envoy", 2), "revision 2 with certificates");
    var secrets = s.get(TypeUrls.SECRET).byName();
    assertThat(secrets).containsOnlyKeys(keys.keySet());
    keys.forEach(
        (name, key) -> {
          Secret secret = (Secret) secrets.get(name);
          assertThat(secret.getTlsCertificate().getPrivateKey().getInlineBytes().toByteArray())
              .isEqualTo(key);
          assertThat(secret.getTlsCertificate().getCertificateChain().getInlineString())
              .startsWith("-----BEGIN CERTIFICATE-----");
        });
    // Kinds are published one after the other: envoy's being there does not mean l4's is.
    assertThat(
            await(() -> snapshot(cluster, "l4", 2), "revision 2 for l4")
                .get(TypeUrls.SECRET)
                .byName())
        .as("only Envoy terminates TLS")
        .isEmpty();
  }

  @Test
  @Order(4)
  void aRevisionThatReturnsToWhatAProxyHoldsClearsItsNack() throws Exception {
    UUID proxy = UUID.randomUUID();
    exec(
        "insert into proxies (id, cluster_id, name, kind) values (?, ?, 'edge-x', 'envoy')",
        proxy,
        SHOP);
    String group = NodeGroups.group(SHOP, "envoy");
    Snapshot three = cache.snapshot(group).orElseThrow();
    assertThat(three.revision()).isEqualTo(3);
    // The proxy's stream is open (a disconnected proxy's state is dropped at the next flush).
    reports.connected(proxy, true);
    for (String type : three.byType().keySet()) {
      reports.ack(proxy, group, type, three.get(type).version());
    }
    reports.nack(
        proxy, TypeUrls.ROUTE, "0123456789abcdef", three.get(TypeUrls.ROUTE).version(), "no");
    assertThat(query("select last_nack->>'errorDetail' from proxies where id = ?", proxy))
        .isEqualTo("no");

    // The operator's fix returns to exactly what the proxy holds: nothing is sent to it, and the
    // API no longer shows a NACK that does not describe it; it has applied the new revision.
    commit(SHOP, 4, fixture("http-basic.json").replace("10.0.0.12", "10.0.0.13"));
    await(
        () ->
            query(
                        "select coalesce(last_nack is null and applied_revision = 4, false)"
                            + " from proxies where id = ?",
                        proxy)
                    .equals("t")
                ? Optional.of(true)
                : Optional.empty(),
        "NACK cleared, revision 4 applied; the row: "
            + query(
                "select coalesce(last_nack::text, 'no nack') || ' / ' || coalesce(applied_revision::text, 'none') || ' / ' || coalesce(xds::text, 'no xds') from proxies where id = ?",
                proxy));
  }

  @Test
  @Order(5)
  void aRemovedClusterIsNoLongerServed() throws Exception {
    exec("delete from clusters where id = ?", SHOP);
    await(
        () ->
            cache.snapshot(NodeGroups.group(SHOP, "envoy")).isEmpty()
                ? Optional.of(true)
                : Optional.empty(),
        "snapshot cleared");
    assertThat(cache.snapshot(NodeGroups.group(SHOP, "grpc"))).isEmpty();
  }

  @Test
  @Order(6)
  void aRevisionRebuildsOnlyWhatChanged() throws Exception {
    UUID cluster = UUID.randomUUID();
    exec("insert into clusters (id, name) values (?, ?)", cluster, "two-" + cluster);
    String api =
        "{\"id\": \"5e000000-0000-4000-8000-000000000061\", \"name\": \"api\","
            + " \"protocol\": \"http\", \"spec\": {\"endpoints\": [{\"host\": \"10.0.1.1\","
            + " \"port\": 9090}], \"lbPolicy\": \"round_robin\"}, \"credentials\": []},\n"
            + "    {\"id\": \"5e000000-0000-4000-8000-000000000001\"";
    String doc =
        fixture("http-basic.json")
            .replace(SHOP.toString(), cluster.toString())
            .replace("\"name\": \"shop\"", "\"name\": \"two\"")
            .replace("{\"id\": \"5e000000-0000-4000-8000-000000000001\"", api);
    assertThat(doc).contains("10.0.1.1").contains("\"two\"");
    commit(cluster, 1, doc);
    Snapshot one = await(() -> snapshot(cluster, "envoy", 1), "revision 1");
    commit(cluster, 2, doc.replace("10.0.0.12", "10.0.0.14"));
    Snapshot two = await(() -> snapshot(cluster, "envoy", 2), "revision 2");

    var endpointsBefore = one.get(TypeUrls.ENDPOINT);
    var endpointsAfter = two.get(TypeUrls.ENDPOINT);
    assertThat(endpointsAfter.get("svc-api"))
        .as("the unchanged service's assignment is the very same message, not rebuilt")
        .isSameAs(endpointsBefore.get("svc-api"));
    assertThat(two.get(TypeUrls.CLUSTER).get("svc-api"))
        .isSameAs(one.get(TypeUrls.CLUSTER).get("svc-api"));
    assertThat(endpointsAfter.resourceVersions().get("svc-api"))
        .isEqualTo(endpointsBefore.resourceVersions().get("svc-api"));
    assertThat(endpointsAfter.resourceVersions().get("svc-web"))
        .as("the changed one gets a new version")
        .isNotEqualTo(endpointsBefore.resourceVersions().get("svc-web"));
    assertThat(endpointsAfter.version()).isNotEqualTo(endpointsBefore.version());
    assertThat(two.get(TypeUrls.CLUSTER).version())
        .as("an endpoint change leaves the clusters' version as it was")
        .isEqualTo(one.get(TypeUrls.CLUSTER).version());

    // Versions come from content alone: built from scratch, the same resources get the same ones.
    var fresh =
        io.marchproxy.xds.cache.ResourceSet.of(
            TypeUrls.ENDPOINT, new java.util.TreeMap<>(endpointsAfter.byName()));
    assertThat(fresh.version()).isEqualTo(endpointsAfter.version());
    assertThat(fresh.resourceVersions()).isEqualTo(endpointsAfter.resourceVersions());
  }

  // --- helpers

  private Optional<Snapshot> snapshot(UUID cluster, String kind, long revision) {
    return cache.snapshot(NodeGroups.group(cluster, kind)).filter(s -> s.revision() == revision);
  }

  private double failures(String kind) {
    var c = metrics.find("xds_revision_failures_total").tag("kind", kind).counter();
    return c == null ? 0 : c.count();
  }

  /** Commits a revision the way the API's RevisionWriter does: row + current_revision, one tx. */
  private void commit(UUID cluster, long revision, String document) throws Exception {
    try (Connection c = TestPostgres.connect(url)) {
      c.setAutoCommit(false);
      try (PreparedStatement s =
          c.prepareStatement(
              "insert into config_revisions (cluster_id, revision, document, content_hash, reason)"
                  + " values (?, ?, ?, ?, 'test')")) {
        s.setObject(1, cluster);
        s.setLong(2, revision);
        s.setString(3, document);
        s.setString(4, Tokens.sha256Hex(document));
        s.executeUpdate();
      }
      try (PreparedStatement s =
          c.prepareStatement("update clusters set current_revision = ? where id = ?")) {
        s.setLong(1, revision);
        s.setObject(2, cluster);
        s.executeUpdate();
      }
      c.commit();
    }
  }

  private List<String> publications(UUID cluster, long revision) {
    try {
      log.flush();
      List<String> out = new ArrayList<>();
      try (Connection c = TestPostgres.connect(url);
          PreparedStatement s =
              c.prepareStatement(
                  "select data_plane, state, problems::text from revision_publications"
                      + " where cluster_id = ? and revision = ? order by data_plane")) {
        s.setObject(1, cluster);
        s.setLong(2, revision);
        try (ResultSet rs = s.executeQuery()) {
          while (rs.next()) {
            out.add(rs.getString(1) + " " + rs.getString(2) + " " + rs.getString(3));
          }
        }
      }
      return out;
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  private String query(String sql, Object... params) {
    try (Connection c = TestPostgres.connect(url);
        PreparedStatement s = c.prepareStatement(sql)) {
      for (int i = 0; i < params.length; i++) {
        s.setObject(i + 1, params[i]);
      }
      try (ResultSet rs = s.executeQuery()) {
        return rs.next() ? rs.getString(1) : null;
      }
    } catch (java.sql.SQLException e) {
      throw new IllegalStateException(e);
    }
  }

  private void exec(String sql, Object... params) throws Exception {
    try (Connection c = TestPostgres.connect(url);
        PreparedStatement s = c.prepareStatement(sql)) {
      for (int i = 0; i < params.length; i++) {
        s.setObject(i + 1, params[i]);
      }
      s.executeUpdate();
    }
  }

  private static <T> T await(Supplier<Optional<T>> probe, String what) throws Exception {
    Instant deadline = Instant.now().plus(Duration.ofSeconds(20));
    while (Instant.now().isBefore(deadline)) {
      Optional<T> v = probe.get();
      if (v.isPresent()) {
        return v.get();
      }
      Thread.sleep(20);
    }
    throw new AssertionError("not reached within 20 s: " + what);
  }

  private static String clusterIdOf(String doc) {
    int i = doc.indexOf("\"cluster\"");
    int id = doc.indexOf("\"id\": \"", i) + 7;
    return doc.substring(id, id + 36);
  }

  static String fixture(String name) throws IOException {
    try (InputStream in = PublisherTest.class.getResourceAsStream("/translate/in/" + name)) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }
}
