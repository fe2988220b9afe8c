package io.marchproxy.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.CallOptions;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerServiceDefinition;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.ServerCalls;
import io.grpc.xds.XdsNameResolverProvider;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * MarchProxy as a proxyless gRPC control plane, end to end with real components: the stack {@code
 * ./marchproxy up} runs (embedded Postgres, the REST API, xds-service), one more xds-service
 * replica, real gRPC backends, and grpc-java's own xDS client dialing {@code xds:///echo.test}.
 * Everything is configured through the REST API.
 */
class ProxylessGrpcIT {

  private static final Duration STARTUP = Duration.ofSeconds(240);
  private static final String PASSWORD = "e2e-admin-password-1";
  private static final String HOST = "echo.test";

  /** marchproxy.test.Echo/Who: answers with the name of the backend that served the call. */
  private static final MethodDescriptor<String, String> WHO =
      MethodDescriptor.<String, String>newBuilder()
          .setType(MethodDescriptor.MethodType.UNARY)
          .setFullMethodName("marchproxy.test.Echo/Who")
          .setRequestMarshaller(new Utf8())
          .setResponseMarshaller(new Utf8())
          .build();

  @TempDir Path home;

  @Test
  void grpcClientsFollowTheApiThroughXdsAcrossNacksReplicasAndRestarts() throws Exception {
    var ports = MarchproxyUp.Ports.free();
    Server alpha = backend("alpha");
    Server beta = backend("beta");
    try (var up =
        MarchproxyUp.start(home, ports, MarchproxyUp.env("MARCHPROXY_ADMIN_PASSWORD", PASSWORD))
            .awaitUp(STARTUP)) {
      Api api = Api.login(ports.api(), "admin", PASSWORD);
      String cluster = api.post("/api/v1/clusters", obj().put("name", "mesh")).get("id").asText();
      String clusterPath = "/api/v1/clusters/" + cluster;
      JsonNode service =
          api.post(clusterPath + "/services", echoService(alpha.getPort())).get("service");
      api.post(
          clusterPath + "/routes",
          "{\"name\":\"echo\",\"hosts\":[\""
              + HOST
              + "\"],\"match\":{\"pathPrefix\":\"/\"},"
              + "\"backends\":[{\"service\":\"echo\",\"weight\":100}]}");
      String key = api.post(clusterPath + "/keys", obj().put("name", "mesh")).get("key").asText();
      String clientId = api.register(key, "grpc-client-1", "grpc").get("id").asText();
      String rawId = api.register(key, "ads-probe", "grpc").get("id").asText();

      int replicaGrpc = MarchproxyUp.freePort();
      int replicaHttp = MarchproxyUp.freePort();
      XdsReplica replica = XdsReplica.start(up, replicaGrpc, replicaHttp);
      ManagedChannel channel = xdsChannel(replicaGrpc, clientId, key);
      try {
        // 1. The client resolves echo.test through MarchProxy and reaches the backend.
        await(() -> who(channel).equals("alpha"), "the first call reaches alpha");
        long revision = latestRevision(api, clusterPath);
        JsonNode publications = api.get(clusterPath + "/revisions/" + revision).get("publications");
        assertThat(publications.toString())
            .contains("\"dataPlane\":\"grpc\",\"state\":\"published\"");
        awaitApplied(api, cluster, clientId, revision);
        JsonNode xds = proxy(api, cluster, clientId).get("xds");
        assertThat(xds.get("connected").asBoolean()).isTrue();
        assertThat(xds.get("types").get("Listener").get("revision").asLong()).isEqualTo(revision);
        assertThat(xds.get("types").has("RouteConfiguration")).isTrue();

        // 2. An endpoint change through the API moves the client's traffic.
        ObjectNode moved = echoService(beta.getPort());
        api.put(clusterPath + "/services/" + service.get("id").asText(), moved);
        await(() -> who(channel).equals("beta"), "calls move to beta");
        awaitApplied(api, cluster, clientId, latestRevision(api, clusterPath));

        // 3. A route RE2 refuses (a look-ahead Java's regex accepts): grpc-java NACKs it; the NACK
        // is recorded with its detail, answered by nothing (no loop), and the client keeps working.
        double routesSent =
            Api.metric(replicaHttp, "xds_responses_total", "type=\"RouteConfiguration\"");
        api.post(
            clusterPath + "/routes",
            "{\"name\":\"never\",\"hosts\":[\""
                + HOST
                + "\"],"
                + "\"match\":{\"pathRegex\":\"^/marchproxy\\\\.test\\\\.(?=Never).*\"},"
                + "\"backends\":[{\"service\":\"echo\",\"weight\":100}],\"priority\":5}");
        JsonNode nack =
            awaitValue(
                () -> {
                  JsonNode p = proxy(api, cluster, clientId);
                  return p.hasNonNull("lastNack") ? p.get("lastNack") : null;
                },
                "the NACK recorded on the proxy");
        assertThat(nack.get("typeUrl").asText()).endsWith("RouteConfiguration");
        assertThat(nack.get("errorDetail").asText()).isNotBlank();
        assertThat(Api.metric(replicaHttp, "xds_nack_total", "")).isEqualTo(1.0);
        Thread.sleep(2000); // a NACK loop would send hundreds of responses in this time
        assertThat(
                Api.metric(replicaHttp, "xds_responses_total", "type=\"RouteConfiguration\"")
                    - routesSent)
            .as("responses of the rejected route configuration")
            .isEqualTo(1.0);
        assertThat(who(channel)).as("the client keeps its last good config").isEqualTo("beta");

        // 4. Two replicas give identical versions (and bytes) for the same revision.
        try (var a = new RawAds(ports.xds(), key, rawId);
            var b = new RawAds(replicaGrpc, key, rawId)) {
          for (String type : List.of(RawAds.LISTENER, RawAds.CLUSTER)) {
            DiscoveryResponse fromA = a.first(type);
            DiscoveryResponse fromB = b.first(type);
            assertThat(fromA.getVersionInfo()).isEqualTo(fromB.getVersionInfo());
            assertThat(fromA.getResourcesList()).isEqualTo(fromB.getResourcesList());
            assertThat(fromA.getResourcesCount()).isPositive();
          }
        }

        // 5. Killing and restarting the replica never leaves the client with an empty config.
        String listenersBefore;
        try (var probe = new RawAds(replicaGrpc, key, rawId)) {
          listenersBefore = probe.first(RawAds.LISTENER).getVersionInfo();
        }
        AtomicInteger failures = new AtomicInteger();
        var stop = new java.util.concurrent.atomic.AtomicBoolean();
        List<String> failed = new java.util.concurrent.CopyOnWriteArrayList<>();
        AtomicLong calls = new AtomicLong();
        Thread caller =
            Thread.ofPlatform()
                .start(
                    () -> {
                      while (!stop.get()) {
                        try {
                          String served = who(channel);
                          if (!served.equals("beta")) {
                            failures.incrementAndGet();
                            failed.add(Instant.now() + " served by " + served);
                          }
                        } catch (RuntimeException e) {
                          failures.incrementAndGet();
                          failed.add(Instant.now() + " " + e);
                        }
                        calls.incrementAndGet();
                      }
                    });
        try {
          System.out.println(Instant.now() + " killing the replica");
          replica.kill();
          Thread.sleep(1000);
          replica = XdsReplica.start(up, replicaGrpc, replicaHttp);
          System.out.println(Instant.now() + " replica restarted");
          try (var probe = new RawAds(replicaGrpc, key, rawId)) {
            DiscoveryResponse first = probe.first(RawAds.LISTENER);
            assertThat(first.getVersionInfo())
                .as("the first answer after a restart is the full, same config")
                .isEqualTo(listenersBefore);
            assertThat(first.getResourcesCount()).isPositive();
          }
          final XdsReplica restarted = replica;
          await(
              () -> metricOrZero(restarted.httpPort, "xds_connected_proxies") >= 1,
              "the client reconnects to the restarted replica");
          Thread.sleep(500);
        } finally {
          stop.set(true); // not an interrupt: that would cancel the call in flight
          caller.join(10_000);
        }
        assertThat(calls.get()).isPositive();
        assertThat(failures.get())
            .as("failed calls of %d across the restart: %s", calls.get(), failed)
            .isZero();
      } finally {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        replica.close();
      }
    } finally {
      alpha.shutdownNow();
      beta.shutdownNow();
    }
  }

  // --- the pieces

  private static ObjectNode echoService(int port) throws IOException {
    return (ObjectNode)
        Api.JSON.readTree(
            "{\"name\":\"echo\",\"protocol\":\"grpc\",\"lbPolicy\":\"round_robin\","
                + "\"endpoints\":[{\"host\":\"127.0.0.1\",\"port\":"
                + port
                + "}]}");
  }

  private static Server backend(String name) throws IOException {
    return NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
        .addService(
            ServerServiceDefinition.builder("marchproxy.test.Echo")
                .addMethod(
                    WHO,
                    ServerCalls.asyncUnaryCall(
                        (request, response) -> {
                          response.onNext(name);
                          response.onCompleted();
                        }))
                .build())
        .build()
        .start();
  }

  /**
   * grpc-java's xDS client with a bootstrap naming this node: its registered proxy id, and the
   * cluster key in node metadata (a proxyless client cannot add metadata to its own xDS stream).
   */
  private static ManagedChannel xdsChannel(int xdsPort, String proxyId, String clusterKey) {
    Map<String, Object> bootstrap =
        Map.of(
            "xds_servers",
            List.of(
                Map.of(
                    "server_uri", "localhost:" + xdsPort,
                    "channel_creds", List.of(Map.of("type", "insecure")),
                    "server_features", List.of("xds_v3"))),
            "node",
            Map.of("id", proxyId, "metadata", Map.of("marchproxy.cluster_key", clusterKey)));
    @SuppressWarnings("deprecation")
    ManagedChannel channel =
        Grpc.newChannelBuilder("xds:///" + HOST, InsecureChannelCredentials.create())
            .nameResolverFactory(XdsNameResolverProvider.createForTest("xds", bootstrap))
            .build();
    return channel;
  }

  private static String who(ManagedChannel channel) {
    return ClientCalls.blockingUnaryCall(
        channel, WHO, CallOptions.DEFAULT.withDeadlineAfter(5, TimeUnit.SECONDS), "who");
  }

  private static long latestRevision(Api api, String clusterPath) throws Exception {
    return api.get(clusterPath + "/revisions?limit=1").get("items").get(0).get("revision").asLong();
  }

  private static JsonNode proxy(Api api, String cluster, String proxyId) throws Exception {
    for (JsonNode p : api.get("/api/v1/proxies?clusterId=" + cluster).get("items")) {
      if (p.get("id").asText().equals(proxyId)) {
        return p;
      }
    }
    throw new AssertionError("proxy " + proxyId + " not listed");
  }

  private static void awaitApplied(Api api, String cluster, String proxyId, long revision)
      throws Exception {
    await(
        () -> {
          try {
            JsonNode p = proxy(api, cluster, proxyId);
            return p.hasNonNull("appliedRevision") && p.get("appliedRevision").asLong() == revision;
          } catch (Exception e) {
            throw new IllegalStateException(e);
          }
        },
        "the API shows revision " + revision + " applied by " + proxyId);
  }

  private static double metricOrZero(int port, String name) {
    try {
      return Api.metric(port, name, "");
    } catch (Exception e) {
      return 0;
    }
  }

  private static ObjectNode obj() {
    return Api.JSON.createObjectNode();
  }

  private interface Probe<T> {
    T get() throws Exception;
  }

  private static <T> T awaitValue(Probe<T> probe, String what) throws Exception {
    Instant deadline = Instant.now().plus(Duration.ofSeconds(30));
    Exception last = null;
    while (Instant.now().isBefore(deadline)) {
      try {
        T v = probe.get();
        if (v != null) {
          return v;
        }
      } catch (Exception e) {
        last = e;
      }
      Thread.sleep(100);
    }
    throw new AssertionError("not within 30 s: " + what, last);
  }

  private static void await(Supplier<Boolean> condition, String what) throws Exception {
    awaitValue(
        () -> {
          try {
            return condition.get() ? Boolean.TRUE : null;
          } catch (RuntimeException e) {
            return null;
          }
        },
        what);
  }

  private static final class Utf8 implements MethodDescriptor.Marshaller<String> {
    @Override
    public InputStream stream(String value) {
      return new ByteArrayInputStream(value.getBytes(StandardCharsets.UTF_8));
    }

    @Override
    public String parse(InputStream stream) {
      try {
        return new String(stream.readAllBytes(), StandardCharsets.UTF_8);
      } catch (IOException e) {
        throw new IllegalStateException(e);
      }
    }
  }
}
