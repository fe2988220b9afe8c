package io.marchproxy.xds.serve;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.rpc.Status;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.StatusRuntimeException;
import io.marchproxy.xds.cache.NodeGroups;
import io.marchproxy.xds.cache.TypeUrls;
import io.micronaut.test.extensions.junit5.annotation.MicronautTest;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** ADS over real gRPC against a real Postgres: auth, first snapshot, ACK, NACK without a loop. */
@MicronautTest(transactional = false)
class AdsServerTest extends AdsTestBase {

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

    // ACK: the proxy applied revision 3. Like Envoy with set_node_on_first_message_only, it
    // sends no node after the first request: the stream's node still counts.
    s.requests()
        .onNext(
            cds(f[2], first.getVersionInfo(), first.getNonce()).toBuilder().clearNode().build());
    awaitSql("select applied_revision from proxies where id = '" + f[2] + "'", "3");
    assertThat(sql("select applied_revision from proxies where id = '" + f[2] + "'"))
        .isEqualTo("3");
    // Per type: the ACKed version and its revision, and that the stream is connected.
    assertThat(sql("select xds->>'connected' from proxies where id = '" + f[2] + "'"))
        .isEqualTo("true");
    assertThat(
            sql(
                "select xds->'types'->'Cluster'->>'version' from proxies where id = '"
                    + f[2]
                    + "'"))
        .isEqualTo(first.getVersionInfo());
    assertThat(
            sql(
                "select xds->'types'->'Cluster'->>'revision' from proxies where id = '"
                    + f[2]
                    + "'"))
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

    // The stream ends: the proxy is shown disconnected, with what it last held.
    channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    awaitSql("select xds->>'connected' from proxies where id = '" + f[2] + "'", "false");
    assertThat(sql("select xds->>'connected' from proxies where id = '" + f[2] + "'"))
        .isEqualTo("false");
    assertThat(
            sql(
                "select xds->'types'->'Cluster'->>'revision' from proxies where id = '"
                    + f[2]
                    + "'"))
        .isEqualTo("3");
  }

  @Test
  void nothingIsServedBeforeTheGroupsFirstSnapshot() throws Exception {
    String[] f = fleet("ads-empty");
    Stream s = open(f[1]);
    s.requests().onNext(cds(f[2], "", ""));
    assertThat(s.responses().poll(1000, TimeUnit.MILLISECONDS)).as("no empty config").isNull();
    cache.setSnapshot(NodeGroups.group(f[0], "envoy"), snapshot(1, "svc-late", 1));
    assertThat(s.responses().poll(10, TimeUnit.SECONDS)).as("errors: %s", s.errors()).isNotNull();
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

  @Test
  void aProxylessClientMayCarryTheKeyInNodeMetadata() throws Exception {
    String[] f = fleet("ads-proxyless");
    cache.setSnapshot(
        io.marchproxy.xds.cache.NodeGroups.group(f[0], "envoy"), snapshot(1, "svc-a", 1));

    Stream wrongKey = open(null);
    wrongKey.requests().onNext(withNodeKey(cds(f[2], "", ""), "mpk_not-a-key"));
    Throwable refused = wrongKey.errors().poll(10, TimeUnit.SECONDS);
    assertThat(((StatusRuntimeException) refused).getStatus().getCode())
        .isEqualTo(io.grpc.Status.Code.UNAUTHENTICATED);
    assertThat(((StatusRuntimeException) refused).getStatus().getDescription())
        .contains("unknown, expired or revoked");
    channel.shutdownNow();

    Stream keyed = open(null);
    keyed.requests().onNext(withNodeKey(cds(f[2], "", ""), f[1]));
    var response = keyed.responses().poll(10, TimeUnit.SECONDS);
    assertThat(response).as("served after the key in node metadata was checked").isNotNull();
    assertThat(response.getResourcesCount()).isEqualTo(1);
    assertThat(keyed.errors()).isEmpty();
  }

  @Test
  void deltaStreamsRecordAcksAndNacksAndDoNotLoop() throws Exception {
    String[] f = fleet("ads-delta");
    String group = io.marchproxy.xds.cache.NodeGroups.group(f[0], "envoy");
    cache.setSnapshot(group, snapshot(7, "svc-delta", 1));
    channel =
        io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder.forAddress("localhost", port)
            .usePlaintext()
            .build();
    var md = new io.grpc.Metadata();
    md.put(
        io.grpc.Metadata.Key.of("x-cluster-key", io.grpc.Metadata.ASCII_STRING_MARSHALLER), f[1]);
    var responses =
        new java.util.concurrent.LinkedBlockingQueue<
            io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryResponse>();
    var requests =
        io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc.newStub(channel)
            .withInterceptors(io.grpc.stub.MetadataUtils.newAttachHeadersInterceptor(md))
            .deltaAggregatedResources(
                new io.grpc.stub.StreamObserver<>() {
                  @Override
                  public void onNext(
                      io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryResponse value) {
                    responses.add(value);
                  }

                  @Override
                  public void onError(Throwable t) {}

                  @Override
                  public void onCompleted() {}
                });
    var node = io.envoyproxy.envoy.config.core.v3.Node.newBuilder().setId(f[2]).build();
    requests.onNext(
        io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest.newBuilder()
            .setNode(node)
            .setTypeUrl(TypeUrls.CLUSTER)
            .build());
    var first = responses.poll(10, TimeUnit.SECONDS);
    assertThat(first).isNotNull();
    assertThat(first.getResourcesList()).extracting(r -> r.getName()).containsExactly("svc-delta");
    requests.onNext(
        io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest.newBuilder()
            .setTypeUrl(TypeUrls.CLUSTER)
            .setResponseNonce(first.getNonce())
            .build());
    awaitSql("select applied_revision from proxies where id = '" + f[2] + "'", "7");
    assertThat(sql("select applied_revision from proxies where id = '" + f[2] + "'"))
        .as("a delta ACK applies the revision")
        .isEqualTo("7");

    cache.setSnapshot(group, snapshot(8, "svc-delta", 2));
    var second = responses.poll(10, TimeUnit.SECONDS);
    assertThat(second).isNotNull();
    requests.onNext(
        io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest.newBuilder()
            .setTypeUrl(TypeUrls.CLUSTER)
            .setResponseNonce(second.getNonce())
            .setErrorDetail(Status.newBuilder().setCode(3).setMessage("delta says no"))
            .build());
    assertThat(responses.poll(1500, TimeUnit.MILLISECONDS))
        .as("no re-send after a delta NACK")
        .isNull();
    assertThat(sql("select last_nack->>'errorDetail' from proxies where id = '" + f[2] + "'"))
        .isEqualTo("delta says no");
    assertThat(sql("select last_nack->>'rejectedVersion' from proxies where id = '" + f[2] + "'"))
        .isEqualTo(second.getSystemVersionInfo());

    // The next revision is delivered.
    cache.setSnapshot(group, snapshot(9, "svc-delta", 3));
    var third = responses.poll(10, TimeUnit.SECONDS);
    assertThat(third).as("the revision after the rejected one").isNotNull();
    assertThat(third.getSystemVersionInfo()).isNotEqualTo(second.getSystemVersionInfo());
    requests.onCompleted();
  }

  @Test
  void endpointsOfANewlySubscribedClusterAreSentAtAnUnchangedVersion() throws Exception {
    String[] f = fleet("ads-grow");
    String group = io.marchproxy.xds.cache.NodeGroups.group(f[0], "envoy");
    var cla = new java.util.HashMap<String, com.google.protobuf.Message>();
    for (String name : List.of("svc-a", "svc-b")) {
      cla.put(
          name,
          io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment.newBuilder()
              .setClusterName(name)
              .build());
    }
    cache.setSnapshot(group, endpointsSnapshot(1, cla));
    Stream s = open(f[1]);
    s.requests().onNext(eds(f[2], "", "", "svc-a"));
    DiscoveryResponse first = s.responses().poll(10, TimeUnit.SECONDS);
    assertThat(first).isNotNull();
    assertThat(first.getResourcesCount()).isEqualTo(1);
    s.requests().onNext(eds(f[2], first.getVersionInfo(), first.getNonce(), "svc-a"));
    assertThat(s.responses().poll(500, TimeUnit.MILLISECONDS)).as("ACK answered").isNull();

    // A new cluster appeared over CDS: Envoy now asks for its endpoints too, at the version it has.
    s.requests().onNext(eds(f[2], first.getVersionInfo(), first.getNonce(), "svc-a", "svc-b"));
    DiscoveryResponse grown = s.responses().poll(10, TimeUnit.SECONDS);
    assertThat(grown).as("the new cluster's endpoints").isNotNull();
    assertThat(grown.getResourcesList())
        .extracting(AdsServerTest::assignmentName)
        .as("only what it lacks: svc-a is unchanged and was sent")
        .containsExactly("svc-b");
    s.requests().onNext(eds(f[2], grown.getVersionInfo(), grown.getNonce(), "svc-a", "svc-b"));

    // One assignment changes: only it is sent (RDS/EDS responses need not repeat the others).
    cla.put(
        "svc-a",
        io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment.newBuilder()
            .setClusterName("svc-a")
            .addEndpoints(io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints.newBuilder())
            .build());
    cache.setSnapshot(group, endpointsSnapshot(2, cla));
    DiscoveryResponse changed = s.responses().poll(10, TimeUnit.SECONDS);
    assertThat(changed).isNotNull();
    assertThat(changed.getResourcesList())
        .extracting(AdsServerTest::assignmentName)
        .containsExactly("svc-a");
    s.requests().onNext(eds(f[2], changed.getVersionInfo(), changed.getNonce(), "svc-a", "svc-b"));
    assertThat(s.responses().poll(1000, TimeUnit.MILLISECONDS))
        .as("the ACK of an incremental response is not answered")
        .isNull();
    awaitSql(
        "select xds->'types'->'ClusterLoadAssignment'->>'revision' from proxies where id = '"
            + f[2]
            + "'",
        "2");
    assertThat(sql("select applied_revision from proxies where id = '" + f[2] + "'"))
        .isEqualTo("2");
  }

  private static io.marchproxy.xds.cache.Snapshot endpointsSnapshot(
      long revision, java.util.Map<String, com.google.protobuf.Message> assignments) {
    return new io.marchproxy.xds.cache.Snapshot(
        revision,
        java.util.Map.of(
            TypeUrls.ENDPOINT,
            io.marchproxy.xds.cache.ResourceSet.of(TypeUrls.ENDPOINT, assignments)));
  }

  private static String assignmentName(com.google.protobuf.Any any)
      throws com.google.protobuf.InvalidProtocolBufferException {
    return any.unpack(io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment.class)
        .getClusterName();
  }

  private static io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest eds(
      String nodeId, String version, String nonce, String... names) {
    return io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest.newBuilder()
        .setNode(io.envoyproxy.envoy.config.core.v3.Node.newBuilder().setId(nodeId))
        .setTypeUrl(TypeUrls.ENDPOINT)
        .setVersionInfo(version)
        .setResponseNonce(nonce)
        .addAllResourceNames(List.of(names))
        .build();
  }

  private static io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest withNodeKey(
      io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest request, String key) {
    var node =
        request.getNode().toBuilder()
            .setMetadata(
                com.google.protobuf.Struct.newBuilder()
                    .putFields(
                        "marchproxy.cluster_key",
                        com.google.protobuf.Value.newBuilder().setStringValue(key).build()));
    return request.toBuilder().setNode(node).build();
  }
}
