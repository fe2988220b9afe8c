package io.marchproxy.xds.serve;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.Duration;
import com.google.protobuf.Message;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.StreamObserver;
import io.marchproxy.xds.cache.ResourceSet;
import io.marchproxy.xds.cache.Snapshot;
import io.marchproxy.xds.cache.SnapshotCache;
import io.marchproxy.xds.cache.TypeUrls;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * ADS served as xds-service serves it ({@link AdsServing#definition}, over a real {@link
 * SnapshotCache}), on a real gRPC Netty server on loopback, to grpc-java clients: what each stream
 * receives on the wire, byte for byte, and what java-control-plane's generated client decodes. (No
 * stream auth here: that needs Postgres and is covered by {@link AdsServerTest}.)
 */
class SharedBodiesGrpcTest {

  private ExecutorService pool;
  private SnapshotCache cache;
  private Server server;
  private final List<ManagedChannel> channels = new ArrayList<>();

  @BeforeEach
  void start() throws IOException {
    pool = AdsServing.deliveryPool();
    cache = new SnapshotCache(node -> "g", pool);
    server =
        NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
            .addService(AdsServing.definition(cache, List.of()))
            .build()
            .start();
  }

  @AfterEach
  void stop() throws InterruptedException {
    for (ManagedChannel c : channels) {
      c.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
    server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    pool.shutdownNow();
  }

  static Snapshot snapshot(long revision, int n, int port) {
    Map<String, Message> clusters = new LinkedHashMap<>();
    Map<String, Message> endpoints = new LinkedHashMap<>();
    for (int i = 0; i < n; i++) {
      String name = "svc-" + i;
      clusters.put(
          name,
          Cluster.newBuilder()
              .setName(name)
              .setType(Cluster.DiscoveryType.EDS)
              .setConnectTimeout(Duration.newBuilder().setSeconds(1))
              .build());
      endpoints.put(
          name,
          ClusterLoadAssignment.newBuilder()
              .setClusterName(name)
              .addEndpoints(
                  io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints.newBuilder()
                      .addLbEndpoints(
                          io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint.newBuilder()
                              .setEndpoint(
                                  io.envoyproxy.envoy.config.endpoint.v3.Endpoint.newBuilder()
                                      .setAddress(
                                          io.envoyproxy.envoy.config.core.v3.Address.newBuilder()
                                              .setSocketAddress(
                                                  io.envoyproxy.envoy.config.core.v3.SocketAddress
                                                      .newBuilder()
                                                      .setAddress("10.0.0." + i)
                                                      .setPortValue(port))))))
              .build());
    }
    return new Snapshot(
        revision,
        Map.of(
            TypeUrls.CLUSTER, ResourceSet.of(TypeUrls.CLUSTER, clusters),
            TypeUrls.ENDPOINT, ResourceSet.of(TypeUrls.ENDPOINT, endpoints)));
  }

  /** A response as it crossed the wire, and as the generated client decodes it. */
  record Received(byte[] wire, DiscoveryResponse decoded) {}

  static final MethodDescriptor.Marshaller<Received> RAW =
      new MethodDescriptor.Marshaller<>() {
        @Override
        public InputStream stream(Received value) {
          throw new UnsupportedOperationException();
        }

        @Override
        public Received parse(InputStream stream) {
          try {
            byte[] wire = stream.readAllBytes();
            return new Received(wire, DiscoveryResponse.parseFrom(wire));
          } catch (IOException e) {
            throw new UncheckedIOException(e);
          }
        }
      };

  static final MethodDescriptor<DiscoveryRequest, Received> ADS_RAW =
      AggregatedDiscoveryServiceGrpc.getStreamAggregatedResourcesMethod().toBuilder(
              AggregatedDiscoveryServiceGrpc.getStreamAggregatedResourcesMethod()
                  .getRequestMarshaller(),
              RAW)
          .build();

  record Stream(StreamObserver<DiscoveryRequest> requests, BlockingQueue<Received> responses) {
    Received next() throws InterruptedException {
      Received r = responses.poll(10, TimeUnit.SECONDS);
      assertThat(r).as("a response within 10 s").isNotNull();
      return r;
    }
  }

  private Stream open() {
    ManagedChannel channel =
        NettyChannelBuilder.forAddress("127.0.0.1", server.getPort()).usePlaintext().build();
    channels.add(channel);
    BlockingQueue<Received> responses = new LinkedBlockingQueue<>();
    var requests =
        ClientCalls.asyncBidiStreamingCall(
            channel.newCall(ADS_RAW, CallOptions.DEFAULT),
            new StreamObserver<Received>() {
              @Override
              public void onNext(Received value) {
                responses.add(value);
              }

              @Override
              public void onError(Throwable t) {}

              @Override
              public void onCompleted() {}
            });
    return new Stream(requests, responses);
  }

  static DiscoveryRequest request(
      String node, String type, String version, String nonce, List<String> names) {
    return DiscoveryRequest.newBuilder()
        .setNode(Node.newBuilder().setId(node))
        .setTypeUrl(type)
        .setVersionInfo(version)
        .setResponseNonce(nonce)
        .addAllResourceNames(names)
        .build();
  }

  /** The wire bytes without the trailing nonce field: the part shared between streams. */
  static byte[] body(Received r) {
    int tail = SharedBodies.nonceField(r.decoded().getNonce()).length;
    byte[] nonceField = Arrays.copyOfRange(r.wire(), r.wire().length - tail, r.wire().length);
    assertThat(nonceField)
        .as("the nonce comes last")
        .isEqualTo(SharedBodies.nonceField(r.decoded().getNonce()));
    return Arrays.copyOf(r.wire(), r.wire().length - tail);
  }

  @Test
  void twoStreamsReceiveByteIdenticalBodiesWithTheirOwnNonces() throws Exception {
    cache.setSnapshot("g", snapshot(1, 40, 8080));
    List<String> names = new ArrayList<>();
    for (int i = 0; i < 40; i++) {
      names.add("svc-" + i);
    }
    Stream a = open();
    Stream b = open();
    a.requests().onNext(request("a", TypeUrls.CLUSTER, "", "", List.of()));
    Received cdsA = a.next();
    // b asks for endpoints first: its cluster response carries a different nonce than a's
    b.requests().onNext(request("b", TypeUrls.ENDPOINT, "", "", names));
    Received edsB = b.next();
    b.requests().onNext(request("b", TypeUrls.CLUSTER, "", "", List.of()));
    Received cdsB = b.next();

    assertThat(cdsA.decoded().getNonce()).isNotEqualTo(cdsB.decoded().getNonce());
    assertThat(body(cdsA)).isEqualTo(body(cdsB));
    assertThat(cdsA.decoded().toBuilder().clearNonce().build())
        .isEqualTo(cdsB.decoded().toBuilder().clearNonce().build());
    assertThat(cdsA.decoded().getResourcesList())
        .extracting(x -> x.unpack(Cluster.class).getName())
        .containsExactlyInAnyOrderElementsOf(names); // clusters go in name order
    assertThat(edsB.decoded().getResourcesList())
        .extracting(x -> x.unpack(ClusterLoadAssignment.class).getClusterName())
        .containsExactlyElementsOf(names);

    // Both ACK with their own nonces; a new snapshot reaches both, again the same body.
    a.requests()
        .onNext(
            request(
                "a",
                TypeUrls.CLUSTER,
                cdsA.decoded().getVersionInfo(),
                cdsA.decoded().getNonce(),
                List.of()));
    b.requests()
        .onNext(
            request(
                "b",
                TypeUrls.CLUSTER,
                cdsB.decoded().getVersionInfo(),
                cdsB.decoded().getNonce(),
                List.of()));
    b.requests()
        .onNext(
            request(
                "b",
                TypeUrls.ENDPOINT,
                edsB.decoded().getVersionInfo(),
                edsB.decoded().getNonce(),
                names));
    cache.setSnapshot("g", snapshot(2, 41, 8080));
    Received nextA = a.next();
    Received nextB = b.next();
    if (!nextB.decoded().getTypeUrl().equals(TypeUrls.CLUSTER)) {
      nextB = b.next();
    }
    assertThat(nextA.decoded().getVersionInfo())
        .isEqualTo(nextB.decoded().getVersionInfo())
        .isNotEqualTo(cdsA.decoded().getVersionInfo());
    assertThat(nextA.decoded().getResourcesCount()).isEqualTo(41);
    assertThat(body(nextA)).isEqualTo(body(nextB));
  }

  @Test
  void streamsAskingForDifferentNamesEachGetTheirOwnSelection() throws Exception {
    cache.setSnapshot("g", snapshot(1, 10, 8080));
    Stream a = open();
    Stream b = open();
    a.requests().onNext(request("a", TypeUrls.ENDPOINT, "", "", List.of("svc-1", "svc-2")));
    b.requests().onNext(request("b", TypeUrls.ENDPOINT, "", "", List.of("svc-2", "svc-3")));
    Received ea = a.next();
    Received eb = b.next();
    assertThat(ea.decoded().getResourcesList())
        .extracting(x -> x.unpack(ClusterLoadAssignment.class).getClusterName())
        .containsExactly("svc-1", "svc-2");
    assertThat(eb.decoded().getResourcesList())
        .extracting(x -> x.unpack(ClusterLoadAssignment.class).getClusterName())
        .containsExactly("svc-2", "svc-3");

    // a grows its subscription at the version it holds: it gets what it lacks, not b's bytes
    a.requests()
        .onNext(
            request(
                "a",
                TypeUrls.ENDPOINT,
                ea.decoded().getVersionInfo(),
                ea.decoded().getNonce(),
                List.of("svc-1", "svc-2", "svc-3")));
    Received grown = a.next();
    assertThat(grown.decoded().getResourcesList())
        .extracting(x -> x.unpack(ClusterLoadAssignment.class).getClusterName())
        .containsExactly("svc-3");

    // a new version where every endpoint moved: each stream gets its own names, decoded intact
    b.requests()
        .onNext(
            request(
                "b",
                TypeUrls.ENDPOINT,
                eb.decoded().getVersionInfo(),
                eb.decoded().getNonce(),
                List.of("svc-2", "svc-3")));
    a.requests()
        .onNext(
            request(
                "a",
                TypeUrls.ENDPOINT,
                grown.decoded().getVersionInfo(),
                grown.decoded().getNonce(),
                List.of("svc-1", "svc-2", "svc-3")));
    cache.setSnapshot("g", snapshot(2, 10, 9090));
    Received a2 = a.next();
    Received b2 = b.next();
    assertThat(a2.decoded().getResourcesList())
        .extracting(x -> x.unpack(ClusterLoadAssignment.class))
        .extracting(
            c -> c.getClusterName(),
            c ->
                c.getEndpoints(0)
                    .getLbEndpoints(0)
                    .getEndpoint()
                    .getAddress()
                    .getSocketAddress()
                    .getPortValue())
        .containsExactly(
            org.assertj.core.groups.Tuple.tuple("svc-1", 9090),
            org.assertj.core.groups.Tuple.tuple("svc-2", 9090),
            org.assertj.core.groups.Tuple.tuple("svc-3", 9090));
    assertThat(b2.decoded().getResourcesList())
        .extracting(x -> x.unpack(ClusterLoadAssignment.class).getClusterName())
        .containsExactly("svc-2", "svc-3");
    assertThat(body(a2)).isNotEqualTo(body(b2));
  }
}
