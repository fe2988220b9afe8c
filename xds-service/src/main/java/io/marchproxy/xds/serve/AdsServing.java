package io.marchproxy.xds.serve;

import io.envoyproxy.controlplane.cache.ConfigWatcher;
import io.envoyproxy.controlplane.server.DefaultExecutorGroup;
import io.envoyproxy.controlplane.server.DiscoveryServerCallbacks;
import io.envoyproxy.controlplane.server.V3DiscoveryServer;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.ServerServiceDefinition;
import io.marchproxy.xds.cache.PackedResources;
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
   * The ADS service (state-of-the-world and delta) over {@code cache}: java-control-plane's server,
   * each resource packed into its {@code Any} once ({@link PackedResources}), each
   * state-of-the-world response body encoded once for every stream it goes to ({@link
   * SharedBodies}), behind {@code interceptors}.
   */
  public static ServerServiceDefinition definition(
      ConfigWatcher cache,
      List<? extends DiscoveryServerCallbacks> callbacks,
      ServerInterceptor... interceptors) {
    V3DiscoveryServer server =
        new V3DiscoveryServer(
            List.copyOf(callbacks), cache, new DefaultExecutorGroup(), new PackedResources());
    ServerServiceDefinition ads =
        new SharedBodies().apply(server.getAggregatedDiscoveryServiceImpl().bindService());
    return ServerInterceptors.intercept(ads, interceptors);
  }
}
