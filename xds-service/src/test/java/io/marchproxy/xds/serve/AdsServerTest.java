package io.marchproxy.xds.serve;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.Duration;
import com.google.rpc.Status;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.StreamObserver;
import io.marchproxy.core.crypto.Tokens;
import io.marchproxy.core.testing.TestPostgres;
import io.marchproxy.xds.cache.NodeGroups;
import io.marchproxy.xds.cache.ResourceSet;
import io.marchproxy.xds.cache.Snapshot;
import io.marchproxy.xds.cache.SnapshotCache;
import io.marchproxy.xds.cache.TypeUrls;
import io.micrometer.core.instrument.MeterRegistry;
import io.micronaut.test.extensions.junit5.annotation.MicronautTest;
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
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** ADS over real gRPC against a real Postgres: auth, first snapshot, ACK, NACK without a loop. */
@MicronautTest(transactional = false)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class AdsServerTest implements TestPropertyProvider {

  @Inject SnapshotCache cache;
  @Inject MeterRegistry metrics;
  private String url;
  private int port;
  private ManagedChannel channel;

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

  private String sql(String query) throws Exception {
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

  /** A cluster with a key and one registered proxy; returns {clusterId, key, proxyId}. */
  private String[] fleet(String name) throws Exception {
    UUID cluster = UUID.randomUUID();
    UUID proxy = UUID.randomUUID();
    String key = Tokens.generate("mpk");
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

  private static Snapshot snapshot(long revision, String clusterName, int timeoutSeconds) {
    Cluster c =
        Cluster.newBuilder()
            .setName(clusterName)
            .setConnectTimeout(Duration.newBuilder().setSeconds(timeoutSeconds))
            .build();
    return new Snapshot(
        revision,
        Map.of(TypeUrls.CLUSTER, ResourceSet.of(TypeUrls.CLUSTER, Map.of(clusterName, c))));
  }

  private record Stream(
      StreamObserver<DiscoveryRequest> requests,
      BlockingQueue<DiscoveryResponse> responses,
      BlockingQueue<Throwable> errors) {}

  private Stream open(String key) {
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

  private static DiscoveryRequest cds(String nodeId, String version, String nonce) {
    return DiscoveryRequest.newBuilder()
        .setNode(Node.newBuilder().setId(nodeId).setCluster("c"))
        .setTypeUrl(TypeUrls.CLUSTER)
        .setVersionInfo(version)
        .setResponseNonce(nonce)
        .build();
  }

  @Test
  void servesTheSnapshotRecordsTheAckAndNeverAnswersANackWithTheSameConfig() throws Exception {
    String[] f = fleet("ads-main");
    String group = NodeGroups.group(f[0], "envoy");
    cache.setSnapshot(group, snapshot(3, "svc-web", 1));
    Stream s = open(f[1]);
    s.requests().onNext(cds(f[2], "", ""));
    DiscoveryResponse first = s.responses().poll(10, TimeUnit.SECONDS);
    assertThat(first).as("first response").isNotNull();
    assertThat(first.getResourcesList())
        .extracting(a -> a.unpack(Cluster.class).getName())
        .containsExactly("svc-web");
    assertThat(first.getVersionInfo())
        .isEqualTo(cache.snapshot(group).orElseThrow().get(TypeUrls.CLUSTER).version());

    // ACK: the proxy applied revision 3.
    s.requests().onNext(cds(f[2], first.getVersionInfo(), first.getNonce()));
    long deadline = System.nanoTime() + 10_000_000_000L;
    while (!"3".equals(sql("select applied_revision from proxies where id = '" + f[2] + "'"))
        && System.nanoTime() < deadline) {
      Thread.sleep(50);
    }
    assertThat(sql("select applied_revision from proxies where id = '" + f[2] + "'"))
        .isEqualTo("3");

    // A new snapshot the proxy rejects.
    cache.setSnapshot(group, snapshot(4, "svc-web", 2));
    DiscoveryResponse second = s.responses().poll(10, TimeUnit.SECONDS);
    assertThat(second).isNotNull();
    double nacksBefore =
        metrics.find("xds_nack_total").counters().stream().mapToDouble(c -> c.count()).sum();
    s.requests()
        .onNext(
            cds(f[2], first.getVersionInfo(), second.getNonce()).toBuilder()
                .setErrorDetail(
                    Status.newBuilder()
                        .setCode(3)
                        .setMessage("connect_timeout too long for this proxy"))
                .build());
    assertThat(s.responses().poll(1500, TimeUnit.MILLISECONDS))
        .as("no re-send of the rejected config")
        .isNull();
    assertThat(sql("select last_nack->>'errorDetail' from proxies where id = '" + f[2] + "'"))
        .isEqualTo("connect_timeout too long for this proxy");
    assertThat(sql("select last_nack->>'rejectedVersion' from proxies where id = '" + f[2] + "'"))
        .isEqualTo(second.getVersionInfo());
    assertThat(sql("select applied_revision from proxies where id = '" + f[2] + "'"))
        .as("still on the last good")
        .isEqualTo("3");
    double nacks =
        metrics.find("xds_nack_total").counters().stream().mapToDouble(c -> c.count()).sum();
    assertThat(nacks - nacksBefore).isEqualTo(1.0);

    // A fixed revision is sent.
    cache.setSnapshot(
        group, snapshot(5, "svc-web", 1).byType().isEmpty() ? null : snapshot(5, "svc-web-v2", 1));
    DiscoveryResponse third = s.responses().poll(10, TimeUnit.SECONDS);
    assertThat(third).isNotNull();
    assertThat(third.getResourcesList())
        .extracting(a -> a.unpack(Cluster.class).getName())
        .containsExactly("svc-web-v2");
  }

  @Test
  @org.junit.jupiter.api.Disabled(
      "Known bug, open in issue 4: passes alone and after either other test of this class, fails"
          + " after both: the first response to a watch held before its group's first snapshot is"
          + " handed to Watch.respond but does not reach the client. Suspect: delivery pool state"
          + " across streams. Nothing empty is ever sent.")
  void nothingIsServedBeforeTheGroupsFirstSnapshot() throws Exception {
    String[] f = fleet("ads-empty");
    Stream s = open(f[1]);
    s.requests().onNext(cds(f[2], "", ""));
    assertThat(s.responses().poll(1000, TimeUnit.MILLISECONDS)).as("no empty config").isNull();
    cache.setSnapshot(NodeGroups.group(f[0], "envoy"), snapshot(1, "svc-late", 1));
    assertThat(s.responses().poll(10, TimeUnit.SECONDS)).isNotNull();
  }

  @Test
  void unknownKeysAndForeignNodesAreRefused() throws Exception {
    String[] f = fleet("ads-auth");
    String[] other = fleet("ads-other");
    Stream noKey = open(null);
    noKey.requests().onNext(cds(f[2], "", ""));
    Throwable e = noKey.errors().poll(10, TimeUnit.SECONDS);
    assertThat(e).isInstanceOf(StatusRuntimeException.class);
    assertThat(((StatusRuntimeException) e).getStatus().getCode())
        .isEqualTo(io.grpc.Status.Code.UNAUTHENTICATED);
    channel.shutdownNow();

    Stream foreign = open(f[1]);
    foreign.requests().onNext(cds(other[2], "", ""));
    Throwable denied = foreign.errors().poll(10, TimeUnit.SECONDS);
    assertThat(((StatusRuntimeException) denied).getStatus().getCode())
        .isEqualTo(io.grpc.Status.Code.PERMISSION_DENIED);
    assertThat(((StatusRuntimeException) denied).getStatus().getDescription())
        .contains("not a proxy registered in this key's cluster");
  }
}
