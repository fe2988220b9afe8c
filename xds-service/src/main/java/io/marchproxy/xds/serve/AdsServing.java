package io.marchproxy.xds.serve;

import io.envoyproxy.controlplane.server.DefaultExecutorGroup;
import io.envoyproxy.controlplane.server.DiscoveryServerCallbacks;
import io.envoyproxy.controlplane.server.V3DiscoveryServer;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.MethodDescriptor;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.ServerMethodDefinition;
import io.grpc.ServerServiceDefinition;
import io.grpc.ServiceDescriptor;
import io.grpc.stub.ServerCalls;
import io.marchproxy.xds.cache.PackedResources;
import io.marchproxy.xds.cache.SnapshotCache;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * How xds-service serves ADS, in one place: {@link AdsService} builds the service from it, and so
 * does the fan-out benchmark ({@code bench/xds/FanoutBench.java}), so the benchmark measures the
 * serving code that ships.
 */
public final class AdsServing {

  private AdsServing() {}

  /** The pool a {@link io.marchproxy.xds.cache.SnapshotCache} delivers responses on. */
  public static ExecutorService deliveryPool() {
    return Executors.newFixedThreadPool(
        Math.max(2, Runtime.getRuntime().availableProcessors()),
        Thread.ofPlatform().daemon().name("xds-delivery-", 0).factory());
  }

  /**
   * The ADS service over {@code cache}, behind {@code interceptors}: state-of-the-world streams
   * handled by {@link SotwStreams}, each state-of-the-world response body encoded once for every
   * stream it goes to ({@link SharedBodies}), requests repeating names seen before given the list
   * decoded then ({@link SharedNames}); delta streams by java-control-plane's server. Both take
   * each resource packed into its {@code Any} once ({@link PackedResources}).
   */
  public static ServerServiceDefinition definition(
      SnapshotCache cache,
      List<? extends DiscoveryServerCallbacks> callbacks,
      ServerInterceptor... interceptors) {
    PackedResources packed = new PackedResources();
    V3DiscoveryServer server =
        new V3DiscoveryServer(List.copyOf(callbacks), cache, new DefaultExecutorGroup(), packed);
    SotwStreams sotw = new SotwStreams(cache, callbacks, packed);
    SharedBodies bodies = new SharedBodies();
    ServerServiceDefinition delta = server.getAggregatedDiscoveryServiceImpl().bindService();
    MethodDescriptor<DiscoveryRequest, DiscoveryResponse> sotwMethod =
        AggregatedDiscoveryServiceGrpc.getStreamAggregatedResourcesMethod();
    List<ServerMethodDefinition<?, ?>> methods = new ArrayList<>();
    for (ServerMethodDefinition<?, ?> m : delta.getMethods()) {
      if (!m.getMethodDescriptor().getFullMethodName().equals(sotwMethod.getFullMethodName())) {
        methods.add(m);
      }
    }
    methods.add(
        ServerMethodDefinition.create(
            sotwMethod.toBuilder(new SharedNames().marshaller(), bodies.marshaller()).build(),
            ServerCalls.asyncBidiStreamingCall(sotw::open)));
    ServiceDescriptor original = delta.getServiceDescriptor();
    ServiceDescriptor.Builder descriptor =
        ServiceDescriptor.newBuilder(original.getName())
            .setSchemaDescriptor(original.getSchemaDescriptor());
    methods.forEach(m -> descriptor.addMethod(m.getMethodDescriptor()));
    ServerServiceDefinition.Builder ads = ServerServiceDefinition.builder(descriptor.build());
    methods.forEach(ads::addMethod);
    return ServerInterceptors.intercept(ads.build(), interceptors);
  }
}
