package io.marchproxy.e2e;

import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.StreamObserver;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A plain ADS stream (Envoy's protos over real gRPC) that records every response: to see exactly
 * what a replica hands a client, including the first response after a restart.
 */
final class RawAds implements AutoCloseable {

  static final String LISTENER = "type.googleapis.com/envoy.config.listener.v3.Listener";
  static final String CLUSTER = "type.googleapis.com/envoy.config.cluster.v3.Cluster";

  private final ManagedChannel channel;
  private final StreamObserver<DiscoveryRequest> requests;
  private final BlockingQueue<DiscoveryResponse> responses = new LinkedBlockingQueue<>();
  private final BlockingQueue<Throwable> errors = new LinkedBlockingQueue<>();
  private final Node node;

  RawAds(int port, String clusterKey, String nodeId) {
    channel = NettyChannelBuilder.forAddress("localhost", port).usePlaintext().build();
    Metadata md = new Metadata();
    md.put(Metadata.Key.of("x-cluster-key", Metadata.ASCII_STRING_MARSHALLER), clusterKey);
    node = Node.newBuilder().setId(nodeId).build();
    requests =
        AggregatedDiscoveryServiceGrpc.newStub(channel)
            .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(md))
            .streamAggregatedResources(
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
  }

  /** Subscribes to every resource of a type and returns the first response. */
  DiscoveryResponse first(String typeUrl) throws Exception {
    requests.onNext(DiscoveryRequest.newBuilder().setNode(node).setTypeUrl(typeUrl).build());
    DiscoveryResponse r = responses.poll(30, TimeUnit.SECONDS);
    if (r == null) {
      throw new AssertionError("no " + typeUrl + " response within 30 s; errors: " + errors);
    }
    requests.onNext(
        DiscoveryRequest.newBuilder()
            .setTypeUrl(typeUrl)
            .setVersionInfo(r.getVersionInfo())
            .setResponseNonce(r.getNonce())
            .build());
    return r;
  }

  @Override
  public void close() throws Exception {
    requests.onCompleted();
    channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
  }
}
