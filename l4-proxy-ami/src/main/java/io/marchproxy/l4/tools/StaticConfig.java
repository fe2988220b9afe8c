package io.marchproxy.l4.tools;

import com.google.protobuf.Any;
import com.google.protobuf.Duration;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.AggregatedConfigSource;
import io.envoyproxy.envoy.config.core.v3.ApiVersion;
import io.envoyproxy.envoy.config.core.v3.ConfigSource;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.Endpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy;
import io.marchproxy.l4.config.ConfigRejected;
import io.marchproxy.l4.xds.DiskCache;
import io.marchproxy.l4.xds.Resources;
import io.marchproxy.l4.xds.TypeUrls;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Writes a config cache for TCP mappings given on the command line, in the form the proxy keeps its
 * last xDS config, so a proxy can run without a control plane (benchmarks, bootstrapping):
 *
 * <pre>
 * java -cp l4-proxy.jar io.marchproxy.l4.tools.StaticConfig STATE_DIR/xds-cache.pb \
 *     NAME=LISTEN_PORT:BACKEND_HOST:BACKEND_PORT[,BACKEND_HOST:BACKEND_PORT...] ...
 * </pre>
 */
public final class StaticConfig {

  private StaticConfig() {}

  public static void main(String[] args) throws ConfigRejected {
    if (args.length < 2) {
      System.err.println(
          "usage: StaticConfig CACHE_FILE NAME=LISTEN_PORT:HOST:PORT[,HOST:PORT...] ...");
      System.exit(2);
    }
    List<Any> listeners = new ArrayList<>();
    List<Any> clusters = new ArrayList<>();
    List<Any> endpoints = new ArrayList<>();
    for (int i = 1; i < args.length; i++) {
      String[] nameRest = args[i].split("=", 2);
      String name = nameRest[0];
      String[] parts = nameRest[1].split(":", 2);
      int listenPort = Integer.parseInt(parts[0]);
      String cluster = "svc-" + name;
      listeners.add(Any.pack(listener("mapping-" + name, listenPort, cluster)));
      clusters.add(
          Any.pack(
              Cluster.newBuilder()
                  .setName(cluster)
                  .setType(Cluster.DiscoveryType.EDS)
                  .setEdsClusterConfig(
                      Cluster.EdsClusterConfig.newBuilder()
                          .setEdsConfig(
                              ConfigSource.newBuilder()
                                  .setAds(AggregatedConfigSource.getDefaultInstance())
                                  .setResourceApiVersion(ApiVersion.V3)))
                  .setConnectTimeout(Duration.newBuilder().setSeconds(5))
                  .setCircuitBreakers(
                      io.envoyproxy.envoy.config.cluster.v3.CircuitBreakers.newBuilder()
                          .addThresholds(
                              io.envoyproxy.envoy.config.cluster.v3.CircuitBreakers.Thresholds
                                  .newBuilder()
                                  .setMaxConnections(com.google.protobuf.UInt32Value.of(100_000))))
                  .setLbPolicy(Cluster.LbPolicy.ROUND_ROBIN)
                  .build()));
      LocalityLbEndpoints.Builder group = LocalityLbEndpoints.newBuilder();
      for (String backend : parts[1].split(",")) {
        int colon = backend.lastIndexOf(':');
        group.addLbEndpoints(
            LbEndpoint.newBuilder()
                .setEndpoint(
                    Endpoint.newBuilder()
                        .setAddress(
                            address(
                                backend.substring(0, colon),
                                Integer.parseInt(backend.substring(colon + 1))))));
      }
      endpoints.add(
          Any.pack(
              ClusterLoadAssignment.newBuilder()
                  .setClusterName(cluster)
                  .addEndpoints(group)
                  .build()));
    }
    Resources r =
        Resources.EMPTY
            .with(TypeUrls.CLUSTER, "static", clusters)
            .with(TypeUrls.ENDPOINTS, "static", endpoints)
            .with(TypeUrls.LISTENER, "static", listeners);
    r.toConfig(); // refuse here what the proxy would refuse
    new DiskCache(Path.of(args[0]).toAbsolutePath()).save(r);
  }

  private static Listener listener(String name, int port, String cluster) {
    return Listener.newBuilder()
        .setName(name)
        .setAddress(address("0.0.0.0", port))
        .addFilterChains(
            FilterChain.newBuilder()
                .addFilters(
                    Filter.newBuilder()
                        .setName("envoy.filters.network.tcp_proxy")
                        .setTypedConfig(
                            Any.pack(
                                TcpProxy.newBuilder()
                                    .setStatPrefix(name)
                                    .setCluster(cluster)
                                    .build()))))
        .build();
  }

  private static Address address(String host, int port) {
    return Address.newBuilder()
        .setSocketAddress(SocketAddress.newBuilder().setAddress(host).setPortValue(port))
        .build();
  }
}
