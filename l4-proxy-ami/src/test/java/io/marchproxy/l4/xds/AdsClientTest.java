package io.marchproxy.l4.xds;

import static io.marchproxy.l4.testing.Xds.*;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.envoyproxy.controlplane.cache.v3.SimpleCache;
import io.envoyproxy.controlplane.cache.v3.Snapshot;
import io.envoyproxy.controlplane.server.DiscoveryServerCallbacks;
import io.envoyproxy.controlplane.server.V3DiscoveryServer;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.marchproxy.l4.testing.Backend;
import io.marchproxy.l4.testing.Client;
import io.marchproxy.l4.testing.Harness;
import io.marchproxy.l4.testing.Xds.Ep;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The ADS client against an in-test control plane: java-control-plane's server with its SimpleCache
 * stands in for xds-service here (this test is about the client's protocol handling; the end-to-end
 * tests use the real xds-service).
 */
class AdsClientTest {

  private static final String NODE = "6f0c1c1e-0000-4000-8000-0000000000l4";

  private final List<DiscoveryRequest> requests = new CopyOnWriteArrayList<>();
  private final List<String> keys = new CopyOnWriteArrayList<>();
  private final SimpleCache<String> cache = new SimpleCache<>(node -> "l4");
  private Server server;
  private int xdsPort;
  private Path stateDir;
  private final List<AutoCloseable> closing = new java.util.ArrayList<>();

  @BeforeEach
  void controlPlane() throws IOException {
    xdsPort = freePort();
    stateDir = Files.createTempDirectory("l4-ads");
    startServer();
  }

  private void startServer() throws IOException {
    var callbacks =
        new DiscoveryServerCallbacks() {
          @Override
          public void onV3StreamRequest(long streamId, DiscoveryRequest request) {
            requests.add(request);
          }

          @Override
          public void onV3StreamDeltaRequest(
              long streamId,
              io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest request) {}
        };
    V3DiscoveryServer ads = new V3DiscoveryServer(callbacks, cache);
    ServerInterceptor keyCapture =
        new ServerInterceptor() {
          @Override
          public <Q, R> ServerCall.Listener<Q> interceptCall(
              ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
            keys.add(
                headers.get(Metadata.Key.of("x-cluster-key", Metadata.ASCII_STRING_MARSHALLER)));
            return next.startCall(call, headers);
          }
        };
    server =
        NettyServerBuilder.forPort(xdsPort)
            .addService(
                ServerInterceptors.intercept(ads.getAggregatedDiscoveryServiceImpl(), keyCapture))
            .build()
            .start();
  }

  private void stopServer() throws InterruptedException {
    server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
  }

  @AfterEach
  void stop() throws Exception {
    for (AutoCloseable c : closing.reversed()) {
      c.close();
    }
    stopServer();
  }

  /** A proxy core with an ADS client, like L4Proxy after registration. */
  private record Proxy(Harness harness, ConfigState state, AdsClient ads) implements AutoCloseable {
    @Override
    public void close() {
      ads.close();
      harness.close();
    }
  }

  private Proxy proxy(boolean connect) {
    Harness h = new Harness(Duration.ofSeconds(1), Map.of());
    ConfigState state =
        new ConfigState(h.runtime, new DiskCache(stateDir.resolve("xds-cache.pb")), h.metrics);
    AdsClient ads =
        new AdsClient(
            "localhost:" + xdsPort,
            false,
            "mpk_test_key",
            new AdsClient.Identity(NODE, "cluster-1", "eu-west-1", "eu-west-1a", "test"),
            state,
            h.metrics,
            Duration.ofMillis(100),
            Duration.ofMillis(400));
    Proxy p = new Proxy(h, state, ads);
    closing.add(p);
    if (connect) {
      ads.start();
    }
    return p;
  }

  private void publish(String version, Listener l, Cluster c, ClusterLoadAssignment cla) {
    cache.setSnapshot(
        "l4", Snapshot.create(List.of(c), List.of(cla), List.of(l), List.of(), List.of(), version));
  }

  private Backend backend(String name) throws IOException {
    Backend b = new Backend(name);
    closing.add(b);
    return b;
  }

  private static String ask(int port, String text) throws IOException {
    try (Client c = new Client(port)) {
      return c.ask(text);
    }
  }

  @Test
  void appliesWhatTheControlPlaneSendsAndAcksIt() throws Exception {
    Backend a = backend("a");
    int port = freePort();
    publish(
        "1",
        tcpListener("mapping-web", port, "svc-web").build(),
        edsCluster("svc-web", Cluster.LbPolicy.ROUND_ROBIN).build(),
        cla("svc-web", Ep.of(a.port())));
    Proxy p = proxy(true);

    await().until(() -> p.state().ready());
    assertThat(ask(port, "hi")).isEqualTo("a:hi");
    assertThat(keys).contains("mpk_test_key");
    assertThat(requests.getFirst().getNode().getId()).isEqualTo(NODE);
    assertThat(
            requests.getFirst().getNode().getMetadata().getFieldsMap().get("kind").getStringValue())
        .isEqualTo("l4");
    await()
        .untilAsserted(
            () ->
                assertThat(requests)
                    .anyMatch(
                        r ->
                            r.getTypeUrl().equals(TypeUrls.LISTENER)
                                && r.getVersionInfo().equals("1")
                                && !r.hasErrorDetail()
                                && !r.getResponseNonce().isEmpty()));
    // endpoints are subscribed as a whole (decision 0302)
    assertThat(requests)
        .anyMatch(
            r -> r.getTypeUrl().equals(TypeUrls.ENDPOINTS) && r.getResourceNamesList().isEmpty());
    assertThat(p.harness().metrics.scrape())
        .contains("marchproxy_l4_xds_updates_total{type=\"lds\",result=\"ack\"} 1");
  }

  @Test
  void newEndpointsMoveNewConnectionsWhileEstablishedOnesContinue() throws Exception {
    Backend a = backend("a");
    Backend b = backend("b");
    int port = freePort();
    Listener l = tcpListener("mapping-m", port, "svc-m").build();
    Cluster c = edsCluster("svc-m", Cluster.LbPolicy.ROUND_ROBIN).build();
    publish("1", l, c, cla("svc-m", Ep.of(a.port())));
    Proxy p = proxy(true);
    await().until(() -> p.state().ready());
    try (Client established = new Client(port)) {
      assertThat(established.ask("1")).isEqualTo("a:1");
      publish("2", l, c, cla("svc-m", Ep.of(b.port())));
      await().untilAsserted(() -> assertThat(ask(port, "2")).isEqualTo("b:2"));
      assertThat(established.ask("3")).isEqualTo("a:3");
    }
  }

  @Test
  void aConfigItCannotRunIsNackedWithTheReasonAndThePreviousOneKeepsServing() throws Exception {
    Backend a = backend("a");
    int port = freePort();
    Cluster c = edsCluster("svc-n", Cluster.LbPolicy.ROUND_ROBIN).build();
    publish("1", tcpListener("mapping-n", port, "svc-n").build(), c, cla("svc-n", Ep.of(a.port())));
    Proxy p = proxy(true);
    await().until(() -> p.state().ready());

    Listener unsupported =
        tcpListener(
                "mapping-n",
                port,
                io.envoyproxy.envoy.config.listener.v3.Filter.newBuilder()
                    .setName("envoy.filters.network.mongo_proxy")
                    .build(),
                tcpProxy("n", "svc-n"))
            .build();
    publish("2", unsupported, c, cla("svc-n", Ep.of(a.port())));

    await()
        .untilAsserted(
            () ->
                assertThat(requests)
                    .anySatisfy(
                        r -> {
                          assertThat(r.getTypeUrl()).isEqualTo(TypeUrls.LISTENER);
                          assertThat(r.hasErrorDetail()).isTrue();
                          assertThat(r.getErrorDetail().getMessage())
                              .contains("mapping-n")
                              .contains(
                                  "unsupported network filter envoy.filters.network.mongo_proxy");
                          assertThat(r.getVersionInfo()).isEqualTo("1"); // what it still runs
                        }));
    assertThat(ask(port, "still")).isEqualTo("a:still");
    assertThat(p.state().lastError()).contains("lds version 2");

    publish("3", tcpListener("mapping-n", port, "svc-n").build(), c, cla("svc-n", Ep.of(a.port())));
    await().until(() -> p.state().current().version(TypeUrls.LISTENER).equals("3"));
  }

  @Test
  void keepsServingWhenTheControlPlaneStopsAndStartsFromDiskWhenItIsDown() throws Exception {
    Backend a = backend("a");
    int port = freePort();
    publish(
        "1",
        tcpListener("mapping-k", port, "svc-k").build(),
        edsCluster("svc-k", Cluster.LbPolicy.ROUND_ROBIN).build(),
        cla("svc-k", Ep.of(a.port())));
    Proxy first = proxy(true);
    await().until(() -> first.state().ready());

    stopServer();
    await().until(() -> !first.ads().connected());
    assertThat(ask(port, "1")).isEqualTo("a:1");
    assertThat(first.harness().metrics.scrape()).contains("marchproxy_l4_xds_connected 0");
    first.close();

    // a restart while the control plane is still down: the disk cache is all there is
    Proxy second = proxy(true);
    assertThat(second.state().startFromDisk()).isTrue();
    assertThat(second.state().source()).isEqualTo(ConfigState.Source.DISK);
    assertThat(ask(port, "2")).isEqualTo("a:2");

    // the control plane comes back: the stream resumes from the cached versions, and the
    // next change arrives over it
    startServer();
    Backend b = backend("b");
    publish(
        "2",
        tcpListener("mapping-k", port, "svc-k").build(),
        edsCluster("svc-k", Cluster.LbPolicy.ROUND_ROBIN).build(),
        cla("svc-k", Ep.of(b.port())));
    await()
        .atMost(Duration.ofSeconds(15))
        .until(() -> second.state().source() == ConfigState.Source.XDS);
    await().untilAsserted(() -> assertThat(ask(port, "3")).isEqualTo("b:3"));
  }

  @Test
  void withoutADiskCacheThereIsNothingToStartFrom() {
    Proxy p = proxy(false);
    assertThat(p.state().startFromDisk()).isFalse();
    assertThat(p.state().ready()).isFalse();
  }
}
