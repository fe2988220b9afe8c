package io.marchproxy.xds.serve;

import com.google.common.cache.Cache;
import com.google.common.cache.CacheBuilder;
import com.google.common.util.concurrent.UncheckedExecutionException;
import com.google.protobuf.Message;
import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.controlplane.cache.Response;
import io.envoyproxy.controlplane.cache.Watch;
import io.envoyproxy.controlplane.cache.XdsRequest;
import io.envoyproxy.controlplane.server.DiscoveryServerCallbacks;
import io.envoyproxy.controlplane.server.exception.RequestException;
import io.envoyproxy.controlplane.server.serializer.ProtoResourcesSerializer;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.Status;
import io.grpc.StatusException;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.marchproxy.xds.cache.SnapshotCache;
import io.marchproxy.xds.cache.TypeUrls;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * State-of-the-world ADS streams, handled here rather than by java-control-plane's stream observer
 * (decision 0011); delta ADS stays with java-control-plane's {@code V3DiscoveryServer}.
 *
 * <p>The protocol is the one java-control-plane implements and the callbacks see the same calls in
 * the same order: a request whose nonce is the stream's latest for its type (or that comes before
 * any response of its type) replaces that type's watch on {@link SnapshotCache}; a stale one is
 * ignored; every response gets the next nonce of the stream and is announced to the callbacks
 * before it is sent. What is not done per response any more, because MarchProxy's cache does not
 * use it (it tracks what each stream holds itself): the set of the names of every resource sent,
 * which java-control-plane builds for each stream and response (10,000 names × 100 streams per
 * publish at 10k clusters). And a response shares its resources list with every other stream's
 * response of the same selection: the resources are packed into one {@link DiscoveryResponse}
 * without a nonce per selection ({@link #prototype}), and each stream's response is that prototype
 * with its own nonce, which protobuf builds without copying the list; {@link SharedBodies} then
 * finds the encoded body by that list.
 */
final class SotwStreams {

  private static final Logger LOG = LoggerFactory.getLogger(SotwStreams.class);

  /**
   * java-control-plane numbers the delta streams from 0 up; these are numbered from 10^12 up, so a
   * callback never sees one id for two streams.
   */
  static final long FIRST_STREAM_ID = 1_000_000_000_000L;

  /** The type URL callbacks are given for an ADS stream (java-control-plane's, package-private). */
  private static final String ADS_TYPE_URL = "";

  private final SnapshotCache cache;
  private final List<DiscoveryServerCallbacks> callbacks;
  private final ProtoResourcesSerializer serializer;
  private final AtomicLong streamIds = new AtomicLong(FIRST_STREAM_ID);

  /**
   * Per selection of resources (by identity; the cache hands every stream the same selection
   * object), the response without a nonce. Weak keys: an entry goes with its snapshot.
   */
  private final Cache<Collection<?>, DiscoveryResponse> prototypes =
      CacheBuilder.newBuilder().weakKeys().build();

  SotwStreams(
      SnapshotCache cache,
      List<? extends DiscoveryServerCallbacks> callbacks,
      ProtoResourcesSerializer serializer) {
    this.cache = cache;
    this.callbacks = List.copyOf(callbacks);
    this.serializer = serializer;
  }

  /** A new stream: the callbacks are told (and may refuse it), then requests are taken. */
  StreamObserver<DiscoveryRequest> open(StreamObserver<DiscoveryResponse> responses) {
    long id = streamIds.getAndIncrement();
    for (DiscoveryServerCallbacks cb : callbacks) {
      try {
        cb.onStreamOpen(id, ADS_TYPE_URL);
      } catch (RequestException e) {
        callbacks.forEach(c -> c.onStreamCloseWithError(id, ADS_TYPE_URL, e));
        throw new StatusRuntimeException(e.getStatus());
      }
    }
    Stream stream = new Stream(id, responses);
    if (responses instanceof ServerCallStreamObserver<?> call) {
      call.setOnCancelHandler(stream::cancel);
    }
    return stream;
  }

  /**
   * The response to {@code response} without its nonce: one per selection of a snapshot, shared by
   * every stream it goes to. A selection seen with another version or type (not one the cache hands
   * out) gets a response of its own.
   */
  DiscoveryResponse prototype(Response response, String typeUrl) {
    Collection<? extends Message> resources = response.resources();
    try {
      // one loader per selection at a time: every stream gets the very same prototype
      DiscoveryResponse p =
          prototypes.get(resources, () -> build(resources, response.version(), typeUrl));
      return p.getVersionInfo().equals(response.version()) && p.getTypeUrl().equals(typeUrl)
          ? p
          : build(resources, response.version(), typeUrl);
    } catch (ExecutionException | UncheckedExecutionException e) {
      throw new IllegalStateException("could not pack a discovery response", e.getCause());
    }
  }

  private DiscoveryResponse build(
      Collection<? extends Message> resources, String version, String typeUrl) {
    return DiscoveryResponse.newBuilder()
        .setVersionInfo(version)
        .setTypeUrl(typeUrl)
        .addAllResources(serializer.serialize(resources, Resources.getResourceApiVersion(typeUrl)))
        .build();
  }

  private final class Stream implements StreamObserver<DiscoveryRequest> {
    private final long id;
    private final StreamObserver<DiscoveryResponse> responses;
    private final AtomicLong nonces = new AtomicLong();
    private final Map<String, Watch> watches = new ConcurrentHashMap<>();
    private final Map<String, String> latestNonce = new ConcurrentHashMap<>();
    private volatile boolean hasClusterChanged;
    private boolean closing; // guarded by responses

    Stream(long id, StreamObserver<DiscoveryResponse> responses) {
      this.id = id;
      this.responses = responses;
    }

    @Override
    public void onNext(DiscoveryRequest request) {
      String type = request.getTypeUrl();
      if (type.isEmpty()) {
        onError(
            new StatusException(
                Status.UNKNOWN.withDescription(
                    String.format("[%d] type URL is required for ADS", id))));
        return;
      }
      try {
        for (DiscoveryServerCallbacks cb : callbacks) {
          cb.onV3StreamRequest(id, request);
        }
      } catch (RequestException e) {
        onError(e);
        return;
      }
      String latest = latestNonce.get(type);
      if (latest != null && !latest.equals(request.getResponseNonce())) {
        return; // answers an older response: the newer one is still to be answered
      }
      XdsRequest xds = XdsRequest.create(request);
      watches.compute(
          type,
          (t, previous) -> {
            if (previous != null) {
              previous.cancel();
            }
            // no known names: the cache keeps what each stream holds itself
            return cache.createWatch(
                true, xds, Set.of(), r -> send(r, type), hasClusterChanged, false);
          });
    }

    private void send(Response response, String type) {
      String nonce = Long.toString(nonces.getAndIncrement());
      DiscoveryResponse out = prototype(response, type).toBuilder().setNonce(nonce).build();
      for (DiscoveryServerCallbacks cb : callbacks) {
        cb.onV3StreamResponse(id, response.request().v3Request(), out);
      }
      // recorded before sending: the answer to this response may come before onNext returns
      latestNonce.put(type, nonce);
      if (type.equals(TypeUrls.CLUSTER)) {
        hasClusterChanged = true;
      } else if (type.equals(TypeUrls.ENDPOINT)) {
        hasClusterChanged = false;
      }
      synchronized (responses) {
        if (!closing) {
          try {
            responses.onNext(out);
          } catch (StatusRuntimeException e) {
            if (e.getStatus().getCode() != Status.Code.CANCELLED) {
              throw e;
            }
          }
        }
      }
    }

    @Override
    public void onError(Throwable t) {
      Status status = Status.fromThrowable(t);
      if (t instanceof RequestException) {
        // refused by a callback (unknown key, over the license): the proxy's doing, not ours
        LOG.warn("[{}] stream refused: {}", id, status);
      } else if (status.getCode() != Status.Code.CANCELLED) {
        LOG.error("[{}] stream closed with error", id, t);
      }
      try {
        callbacks.forEach(cb -> cb.onStreamCloseWithError(id, ADS_TYPE_URL, t));
        synchronized (responses) {
          if (!closing) {
            closing = true;
            responses.onError(status.asException());
          }
        }
      } finally {
        cancel();
      }
    }

    @Override
    public void onCompleted() {
      try {
        callbacks.forEach(cb -> cb.onStreamClose(id, ADS_TYPE_URL));
        synchronized (responses) {
          if (!closing) {
            closing = true;
            responses.onCompleted();
          }
        }
      } finally {
        cancel();
      }
    }

    private void cancel() {
      watches.values().forEach(Watch::cancel);
    }
  }
}
