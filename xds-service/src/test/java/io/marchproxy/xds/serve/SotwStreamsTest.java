package io.marchproxy.xds.serve;

import static org.assertj.core.api.Assertions.assertThat;

import io.envoyproxy.controlplane.server.DiscoveryServerCallbacks;
import io.envoyproxy.controlplane.server.exception.RequestException;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import io.marchproxy.xds.cache.SnapshotCache;
import io.marchproxy.xds.cache.TypeUrls;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * MarchProxy's state-of-the-world stream handling ({@link SotwStreams}) served as xds-service
 * serves it, on a real gRPC server, to java-control-plane's generated grpc-java client: the calls
 * the callbacks see (which is how xds-service records ACKs, NACKs and connections), the nonce rule,
 * refused and malformed streams, and one resources list shared by every stream's response.
 */
class SotwStreamsTest {

  /** What the callbacks were told, in order. */
  record Event(String kind, long stream, String type, String nonce, DiscoveryResponse response) {}

  private final List<Event> events = new CopyOnWriteArrayList<>();
  private final List<DiscoveryRequest> requests = new CopyOnWriteArrayList<>();
  private volatile Status refuseOpen;

  private final DiscoveryServerCallbacks recorder =
      new DiscoveryServerCallbacks() {
        @Override
        public void onStreamOpen(long streamId, String typeUrl) throws RequestException {
          events.add(new Event("open", streamId, typeUrl, null, null));
          if (refuseOpen != null) {
            throw new RequestException(refuseOpen);
          }
        }

        @Override
        public void onV3StreamRequest(long streamId, DiscoveryRequest request) {
          requests.add(request);
          events.add(
              new Event(
                  "request", streamId, request.getTypeUrl(), request.getResponseNonce(), null));
        }

        @Override
        public void onV3StreamResponse(
            long streamId, DiscoveryRequest request, DiscoveryResponse response) {
          events.add(
              new Event(
                  "response",
                  streamId,
                  response.getTypeUrl(),
                  // the nonce of the request this response answers
                  request.getResponseNonce(),
                  response));
        }

        @Override
        public void onV3StreamDeltaRequest(long streamId, DeltaDiscoveryRequest request) {}

        @Override
        public void onStreamClose(long streamId, String typeUrl) {
          events.add(new Event("close", streamId, typeUrl, null, null));
        }

        @Override
        public void onStreamCloseWithError(long streamId, String typeUrl, Throwable error) {
          events.add(
              new Event(
                  "error", streamId, Status.fromThrowable(error).getCode().name(), null, null));
        }
      };

  private ExecutorService pool;
  private SnapshotCache cache;
  private Server server;
  private ManagedChannel channel;

  @BeforeEach
  void start() throws IOException {
    pool = AdsServing.deliveryPool();
    cache = new SnapshotCache(node -> "g", pool);
    server =
        NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
            .addService(AdsServing.definition(cache, List.of(recorder)))
            .build()
            .start();
    channel = NettyChannelBuilder.forAddress("127.0.0.1", server.getPort()).usePlaintext().build();
  }

  @AfterEach
  void stop() throws InterruptedException {
    channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    pool.shutdownNow();
  }

  /** A client stream: what it received, and how it ended. */
  record Client(
      StreamObserver<DiscoveryRequest> requests,
      BlockingQueue<DiscoveryResponse> responses,
      CompletableFuture<Status> end) {

    DiscoveryResponse next() throws InterruptedException {
      DiscoveryResponse r = responses.poll(10, TimeUnit.SECONDS);
      assertThat(r).as("a response within 10 s").isNotNull();
      return r;
    }

    Status ended() throws Exception {
      return end.get(10, TimeUnit.SECONDS);
    }
  }

  private Client open() {
    BlockingQueue<DiscoveryResponse> responses = new LinkedBlockingQueue<>();
    CompletableFuture<Status> end = new CompletableFuture<>();
    var requests =
        AggregatedDiscoveryServiceGrpc.newStub(channel)
            .streamAggregatedResources(
                new StreamObserver<>() {
                  @Override
                  public void onNext(DiscoveryResponse value) {
                    responses.add(value);
                  }

                  @Override
                  public void onError(Throwable t) {
                    end.complete(Status.fromThrowable(t));
                  }

                  @Override
                  public void onCompleted() {
                    end.complete(Status.OK);
                  }
                });
    return new Client(requests, responses, end);
  }

  private static DiscoveryRequest cds(String version, String nonce) {
    return SharedBodiesGrpcTest.request("proxy-1", TypeUrls.CLUSTER, version, nonce, List.of());
  }

  private List<Event> of(String kind, long stream) {
    return events.stream().filter(e -> e.kind().equals(kind) && e.stream() == stream).toList();
  }

  private long streamOf(Predicate<Event> p) {
    return events.stream().filter(p).findFirst().orElseThrow().stream();
  }

  @Test
  void callbacksSeeOpenRequestsResponsesAndCloseOfOneStreamInOrder() throws Exception {
    cache.setSnapshot("g", SharedBodiesGrpcTest.snapshot(1, 3, 8080));
    Client c = open();
    c.requests().onNext(cds("", ""));
    DiscoveryResponse first = c.next();
    assertThat(first.getNonce()).isEqualTo("0");
    assertThat(first.getResourcesCount()).isEqualTo(3);
    c.requests().onNext(cds(first.getVersionInfo(), first.getNonce())); // the ACK
    cache.setSnapshot("g", SharedBodiesGrpcTest.snapshot(2, 4, 8080)); // one cluster more
    DiscoveryResponse second = c.next();
    assertThat(second.getNonce()).isEqualTo("1");
    assertThat(second.getVersionInfo()).isNotEqualTo(first.getVersionInfo());
    c.requests().onCompleted();
    assertThat(c.ended()).isEqualTo(Status.OK);

    long id = streamOf(e -> e.kind().equals("open"));
    assertThat(events)
        .allSatisfy(e -> assertThat(e.stream()).isEqualTo(id))
        .extracting(Event::kind, Event::nonce)
        .containsExactly(
            org.assertj.core.groups.Tuple.tuple("open", null),
            org.assertj.core.groups.Tuple.tuple("request", ""),
            org.assertj.core.groups.Tuple.tuple("response", ""),
            org.assertj.core.groups.Tuple.tuple("request", "0"),
            org.assertj.core.groups.Tuple.tuple("response", "0"),
            org.assertj.core.groups.Tuple.tuple("close", null));
    // the callbacks are told of exactly what went on the wire
    assertThat(of("response", id).get(0).response()).isEqualTo(first);
    assertThat(of("response", id).get(1).response()).isEqualTo(second);
  }

  @Test
  void aRequestAnsweringAnOlderNonceIsIgnored() throws Exception {
    cache.setSnapshot("g", SharedBodiesGrpcTest.snapshot(1, 2, 8080));
    Client c = open();
    c.requests().onNext(cds("", ""));
    DiscoveryResponse first = c.next();
    // not the latest nonce of the stream: neither answered nor given a watch
    c.requests().onNext(cds("", "stale"));
    // the latest nonce, asking again (version "" differs from ours): answered
    c.requests().onNext(cds("", first.getNonce()));
    DiscoveryResponse second = c.next();
    assertThat(second.getNonce()).isEqualTo("1");
    long id = streamOf(e -> e.kind().equals("open"));
    assertThat(of("request", id)).extracting(Event::nonce).containsExactly("", "stale", "0");
    assertThat(of("response", id))
        .as("the nonces of the requests each response answers")
        .extracting(Event::nonce)
        .containsExactly("", "0");
    c.requests().onCompleted();
    c.ended();
  }

  @Test
  void aStreamTheCallbacksRefuseEndsWithTheirStatusAndIsReportedClosed() throws Exception {
    refuseOpen = Status.PERMISSION_DENIED.withDescription("not on the list");
    Client c = open();
    c.requests().onNext(cds("", ""));
    Status end = c.ended();
    assertThat(end.getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
    assertThat(end.getDescription()).isEqualTo("not on the list");
    long id = streamOf(e -> e.kind().equals("open"));
    assertThat(of("error", id)).extracting(Event::type).containsExactly("PERMISSION_DENIED");
    assertThat(of("request", id)).isEmpty();
  }

  @Test
  void aRequestWithoutATypeUrlEndsTheStream() throws Exception {
    cache.setSnapshot("g", SharedBodiesGrpcTest.snapshot(1, 2, 8080));
    Client c = open();
    c.requests().onNext(DiscoveryRequest.newBuilder().setVersionInfo("").build());
    Status end = c.ended();
    assertThat(end.getCode()).isEqualTo(Status.Code.UNKNOWN);
    assertThat(end.getDescription()).contains("type URL is required for ADS");
    long id = streamOf(e -> e.kind().equals("open"));
    assertThat(of("error", id)).hasSize(1);
    assertThat(c.responses()).isEmpty();
  }

  @Test
  void streamsGetTheirOwnIdsAndShareOneResourcesListPerSelection() throws Exception {
    cache.setSnapshot("g", SharedBodiesGrpcTest.snapshot(1, 50, 8080));
    Client a = open();
    Client b = open();
    a.requests().onNext(cds("", ""));
    b.requests().onNext(cds("", ""));
    assertThat(a.next().getResourcesCount()).isEqualTo(50);
    assertThat(b.next().getResourcesCount()).isEqualTo(50);
    List<Event> responses = events.stream().filter(e -> e.kind().equals("response")).toList();
    assertThat(responses).hasSize(2);
    assertThat(responses.get(0).stream()).isNotEqualTo(responses.get(1).stream());
    assertThat(responses)
        .as("numbered apart from java-control-plane's delta streams, which count from 0")
        .allSatisfy(
            e -> assertThat(e.stream()).isGreaterThanOrEqualTo(SotwStreams.FIRST_STREAM_ID));
    assertThat(responses.get(0).response().getResourcesList())
        .as("one list object: no copy per stream, and SharedBodies finds the body by it")
        .isSameAs(responses.get(1).response().getResourcesList());
    a.requests().onCompleted();
    b.requests().onCompleted();
    a.ended();
    b.ended();
  }

  @Test
  void proxiesAskingForTheSameNamesAreHandedOneList() throws Exception {
    cache.setSnapshot("g", SharedBodiesGrpcTest.snapshot(1, 100, 8080));
    List<String> names = new java.util.ArrayList<>();
    for (int i = 0; i < 100; i++) {
      names.add("svc-" + i);
    }
    Client a = open();
    Client b = open();
    a.requests().onNext(SharedBodiesGrpcTest.request("p-a", TypeUrls.ENDPOINT, "", "", names));
    b.requests().onNext(SharedBodiesGrpcTest.request("p-b", TypeUrls.ENDPOINT, "", "", names));
    assertThat(a.next().getResourcesCount()).isEqualTo(100);
    assertThat(b.next().getResourcesCount()).isEqualTo(100);
    assertThat(requests).hasSize(2);
    assertThat(requests.get(0).getNode().getId()).isNotEqualTo(requests.get(1).getNode().getId());
    assertThat(requests.get(0).getResourceNamesList())
        .containsExactlyElementsOf(names)
        .as("decoded once (SharedNames), one list object for both streams")
        .isSameAs(requests.get(1).getResourceNamesList());
    a.requests().onCompleted();
    b.requests().onCompleted();
    a.ended();
    b.ended();
  }
}
