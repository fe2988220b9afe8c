package io.marchproxy.l4.xds;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import com.google.rpc.Code;
import com.google.rpc.Status;
import io.envoyproxy.envoy.config.core.v3.Locality;
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
import io.marchproxy.l4.ops.Metrics;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The proxy's ADS stream (state of the world): subscribes to clusters, their endpoints and
 * listeners; applies each response through {@link ConfigState} and answers with an ACK or a NACK
 * carrying the reason; follows the cluster set with its EDS subscription; reconnects with
 * exponential backoff and jitter, presenting the versions it holds.
 */
public final class AdsClient implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(AdsClient.class);

  static final Metadata.Key<String> CLUSTER_KEY =
      Metadata.Key.of("x-cluster-key", Metadata.ASCII_STRING_MARSHALLER);

  /** Who this proxy is on the stream. */
  public record Identity(
      String proxyId, String cluster, String region, String zone, String version) {}

  private final String target;
  private final boolean tls;
  private final String clusterKey;
  private final Identity identity;
  private final Node node;
  private final ConfigState state;
  private final Duration initialBackoff;
  private final Duration maxBackoff;
  private final ScheduledExecutorService loop;
  private ManagedChannel channel;
  private StreamObserver<DiscoveryRequest> requests;
  private final Map<String, String> nonces = new HashMap<>();
  private List<String> edsNames = List.of();
  private Duration backoff;
  private volatile boolean connected;
  private volatile boolean closed;
  private volatile String lastStreamError = "";
  private long generation;
  private final LongAdder reconnects;

  public AdsClient(
      String target,
      boolean tls,
      String clusterKey,
      Identity identity,
      ConfigState state,
      Metrics metrics,
      Duration initialBackoff,
      Duration maxBackoff) {
    this.target = target;
    this.tls = tls;
    this.clusterKey = clusterKey;
    this.identity = identity;
    this.state = state;
    this.initialBackoff = initialBackoff;
    this.maxBackoff = maxBackoff;
    this.backoff = initialBackoff;
    this.node = buildNode();
    this.loop =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "xds-client");
              t.setDaemon(true);
              return t;
            });
    metrics.gauge(
        "xds_connected", "1 while the ADS stream is up", s -> s.sample(connected ? 1 : 0));
    reconnects =
        metrics.counter("xds_stream_restarts_total", "ADS streams that ended and were reopened");
  }

  public boolean connected() {
    return connected;
  }

  public String lastStreamError() {
    return lastStreamError;
  }

  public void start() {
    NettyChannelBuilder b =
        NettyChannelBuilder.forTarget(target)
            .keepAliveTime(30, TimeUnit.SECONDS)
            .keepAliveTimeout(10, TimeUnit.SECONDS)
            .maxInboundMessageSize(64 * 1024 * 1024);
    if (tls) {
      b.useTransportSecurity();
    } else {
      b.usePlaintext();
    }
    channel = b.build();
    loop.execute(this::open);
  }

  private Node buildNode() {
    Struct.Builder meta = Struct.newBuilder();
    meta.putFields("kind", Value.newBuilder().setStringValue("l4").build());
    return Node.newBuilder()
        .setId(identity.proxyId())
        .setCluster(identity.cluster())
        .setUserAgentName("marchproxy-l4")
        .setUserAgentVersion(identity.version())
        .setLocality(Locality.newBuilder().setRegion(identity.region()).setZone(identity.zone()))
        .setMetadata(meta)
        .build();
  }

  /** Runs on the client's own thread, like everything that touches the stream state. */
  private void open() {
    if (closed) {
      return;
    }
    long gen = ++generation;
    nonces.clear();
    Metadata md = new Metadata();
    md.put(CLUSTER_KEY, clusterKey);
    var stub =
        AggregatedDiscoveryServiceGrpc.newStub(channel)
            .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(md));
    requests =
        stub.streamAggregatedResources(
            new StreamObserver<>() {
              @Override
              public void onNext(DiscoveryResponse r) {
                post(() -> onResponse(gen, r));
              }

              @Override
              public void onError(Throwable t) {
                post(() -> onStreamEnd(gen, t));
              }

              @Override
              public void onCompleted() {
                post(() -> onStreamEnd(gen, null));
              }
            });
    Resources held = state.current();
    edsNames = held.edsClusterNames();
    for (String type : TypeUrls.ALL) {
      // node on every request, like Envoy by default: servers key watches by it
      DiscoveryRequest.Builder req =
          DiscoveryRequest.newBuilder()
              .setNode(node)
              .setTypeUrl(type)
              .setVersionInfo(held.version(type));
      if (type.equals(TypeUrls.ENDPOINTS)) {
        req.addAllResourceNames(edsNames);
      }
      requests.onNext(req.build());
    }
  }

  private void onResponse(long gen, DiscoveryResponse r) {
    if (gen != generation || closed) {
      return;
    }
    if (!connected) {
      connected = true;
      backoff = initialBackoff;
      lastStreamError = "";
      log.info("ADS stream to {} is up", target);
    }
    String type = r.getTypeUrl();
    if (!TypeUrls.ALL.contains(type)) {
      log.warn("ignoring a response of a type this proxy did not ask for: {}", type);
      return;
    }
    nonces.put(type, r.getNonce());
    Optional<String> error = state.offer(type, r.getVersionInfo(), r.getResourcesList());
    DiscoveryRequest.Builder ack =
        DiscoveryRequest.newBuilder()
            .setNode(node)
            .setTypeUrl(type)
            .setResponseNonce(r.getNonce())
            .setVersionInfo(state.current().version(type));
    if (type.equals(TypeUrls.ENDPOINTS)) {
      ack.addAllResourceNames(edsNames);
    }
    error.ifPresent(
        detail ->
            ack.setErrorDetail(
                Status.newBuilder().setCode(Code.INVALID_ARGUMENT_VALUE).setMessage(detail)));
    requests.onNext(ack.build());
    if (type.equals(TypeUrls.CLUSTER) && error.isEmpty()) {
      List<String> names = state.current().edsClusterNames();
      if (!names.equals(edsNames)) {
        edsNames = names;
        requests.onNext(
            DiscoveryRequest.newBuilder()
                .setNode(node)
                .setTypeUrl(TypeUrls.ENDPOINTS)
                .setVersionInfo(state.current().version(TypeUrls.ENDPOINTS))
                .setResponseNonce(nonces.getOrDefault(TypeUrls.ENDPOINTS, ""))
                .addAllResourceNames(names)
                .build());
      }
    }
  }

  private void onStreamEnd(long gen, Throwable t) {
    if (gen != generation || closed) {
      return;
    }
    connected = false;
    reconnects.increment();
    String why =
        t == null
            ? "closed by the server"
            : t instanceof StatusRuntimeException s
                ? s.getStatus().getCode() + ": " + s.getStatus().getDescription()
                : t.toString();
    lastStreamError = why;
    long jittered = (long) (backoff.toMillis() * (0.5 + ThreadLocalRandom.current().nextDouble()));
    log.warn("ADS stream to {} ended ({}); reconnecting in {} ms", target, why, jittered);
    backoff =
        backoff.multipliedBy(2).compareTo(maxBackoff) > 0 ? maxBackoff : backoff.multipliedBy(2);
    loop.schedule(this::open, jittered, TimeUnit.MILLISECONDS);
  }

  /** Runs {@code r} on the client's thread, unless the client is closed. */
  private void post(Runnable r) {
    try {
      loop.execute(r);
    } catch (java.util.concurrent.RejectedExecutionException e) {
      // closed meanwhile
    }
  }

  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    post(
        () -> {
          if (requests != null) {
            try {
              requests.onCompleted();
            } catch (RuntimeException ignored) {
              // the stream may already be gone
            }
          }
        });
    loop.shutdown();
    try {
      loop.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    if (channel != null) {
      channel.shutdownNow();
      try {
        channel.awaitTermination(5, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
