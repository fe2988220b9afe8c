package io.marchproxy.xds.serve;

import com.google.protobuf.Duration;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.StreamObserver;
import io.marchproxy.core.crypto.Tokens;
import io.marchproxy.core.testing.TestPostgres;
import io.marchproxy.xds.cache.ResourceSet;
import io.marchproxy.xds.cache.Snapshot;
import io.marchproxy.xds.cache.SnapshotCache;
import io.marchproxy.xds.cache.TypeUrls;
import io.micrometer.core.instrument.MeterRegistry;
import io.micronaut.test.support.TestPropertyProvider;
import jakarta.inject.Inject;
import java.net.ServerSocket;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.HashMap;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.TestInstance;

/**
 * Base of ADS tests: xds-service on a free gRPC port and a fresh Postgres database, plus a plain
 * ADS client (java-control-plane's stubs over real gRPC) and SQL to set up clusters, keys and
 * proxies.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class AdsTestBase implements TestPropertyProvider {

  @Inject protected SnapshotCache cache;
  @Inject protected MeterRegistry metrics;
  protected String url;
  protected int port;
  protected ManagedChannel channel;

  @Override
  public Map<String, String> getProperties() {
    try (var s = new ServerSocket(0)) {
      port = s.getLocalPort();
    } catch (java.io.IOException e) {
      throw new IllegalStateException(e);
    }
    var props = new HashMap<>(TestPostgres.datasourceProperties());
    url = props.get("datasources.default.url");
    props.put("marchproxy.xds.grpc-port", String.valueOf(port));
    return props;
  }

  @AfterEach
  void close() throws InterruptedException {
    if (channel != null) {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  protected String sql(String query) throws Exception {
    try (Connection c = TestPostgres.connect(url);
        Statement s = c.createStatement()) {
      if (!s.execute(query)) {
        return null;
      }
      try (ResultSet rs = s.getResultSet()) {
        return rs.next() ? rs.getString(1) : null;
      }
    }
  }

  /** Waits (up to 10 s) until the query returns {@code expected}; the caller asserts after. */
  protected void awaitSql(String query, String expected) throws Exception {
    long deadline = System.nanoTime() + 10_000_000_000L;
    while (!expected.equals(sql(query)) && System.nanoTime() < deadline) {
      Thread.sleep(50);
    }
  }

  /** A cluster with a key and one registered proxy; returns {clusterId, key, proxyId}. */
  protected String[] fleet(String name) throws Exception {
    UUID cluster = UUID.randomUUID();
    UUID proxy = UUID.randomUUID();
    String key = Tokens.generate("mpk");
    // Proxies of earlier tests went away: only this test's proxies count against the license.
    sql("update proxies set last_seen_at = now() - interval '1 hour'");
    sql("insert into clusters (id, name) values ('" + cluster + "', '" + name + "')");
    sql(
        "insert into cluster_api_keys (id, cluster_id, prefix, key_hash) values (gen_random_uuid(), '"
            + cluster
            + "', 'mpk_x', '"
            + Tokens.sha256Hex(key)
            + "')");
    sql(
        "insert into proxies (id, cluster_id, name, kind) values ('"
            + proxy
            + "', '"
            + cluster
            + "', 'edge', 'envoy')");
    return new String[] {cluster.toString(), key, proxy.toString()};
  }

  static Snapshot snapshot(long revision, String clusterName, int timeoutSeconds) {
    Cluster c =
        Cluster.newBuilder()
            .setName(clusterName)
            .setConnectTimeout(Duration.newBuilder().setSeconds(timeoutSeconds))
            .build();
    return new Snapshot(
        revision,
        Map.of(TypeUrls.CLUSTER, ResourceSet.of(TypeUrls.CLUSTER, Map.of(clusterName, c))));
  }

  record Stream(
      StreamObserver<DiscoveryRequest> requests,
      BlockingQueue<DiscoveryResponse> responses,
      BlockingQueue<Throwable> errors) {}

  protected Stream open(String key) {
    channel = NettyChannelBuilder.forAddress("localhost", port).usePlaintext().build();
    var stub = AggregatedDiscoveryServiceGrpc.newStub(channel);
    if (key != null) {
      Metadata md = new Metadata();
      md.put(Metadata.Key.of("x-cluster-key", Metadata.ASCII_STRING_MARSHALLER), key);
      stub = stub.withInterceptors(MetadataUtils.newAttachHeadersInterceptor(md));
    }
    BlockingQueue<DiscoveryResponse> responses = new LinkedBlockingQueue<>();
    BlockingQueue<Throwable> errors = new LinkedBlockingQueue<>();
    var requests =
        stub.streamAggregatedResources(
            new StreamObserver<>() {
              @Override
              public void onNext(DiscoveryResponse value) {
                responses.add(value);
              }

              @Override
              public void onError(Throwable t) {
                errors.add(t);
              }

              @Override
              public void onCompleted() {}
            });
    return new Stream(requests, responses, errors);
  }

  static DiscoveryRequest cds(String nodeId, String version, String nonce) {
    return DiscoveryRequest.newBuilder()
        .setNode(Node.newBuilder().setId(nodeId).setCluster("c"))
        .setTypeUrl(TypeUrls.CLUSTER)
        .setVersionInfo(version)
        .setResponseNonce(nonce)
        .build();
  }
}
