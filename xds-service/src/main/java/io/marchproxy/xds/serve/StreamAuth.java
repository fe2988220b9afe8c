package io.marchproxy.xds.serve;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.marchproxy.core.clusters.ClusterKeyVerifier;
import java.util.Optional;
import java.util.UUID;

/**
 * Every xDS stream carries its cluster's API key: in gRPC metadata ({@code x-cluster-key}, or
 * {@code authorization: Bearer mpk_…}) for Envoy and the L4 proxy, or — for proxyless gRPC clients,
 * which cannot add metadata to their own xDS stream — as the {@code marchproxy.cluster_key} string
 * in {@code node.metadata}, checked on the stream's first request. An unknown, expired or revoked
 * key, or none, ends the stream with UNAUTHENTICATED before any configuration is sent.
 */
final class StreamAuth implements ServerInterceptor {

  static final Context.Key<UUID> CLUSTER = Context.key("marchproxy-cluster");
  static final Metadata.Key<String> CLUSTER_KEY =
      Metadata.Key.of("x-cluster-key", Metadata.ASCII_STRING_MARSHALLER);
  static final Metadata.Key<String> AUTHORIZATION =
      Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);

  private final ClusterKeyVerifier keys;

  StreamAuth(ClusterKeyVerifier keys) {
    this.keys = keys;
  }

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(
      ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
    if (!call.getMethodDescriptor().getFullMethodName().startsWith("envoy.service.")) {
      return next.startCall(call, headers); // health and reflection are open
    }
    String key = headers.get(CLUSTER_KEY);
    String auth = headers.get(AUTHORIZATION);
    if (key == null && auth != null && auth.regionMatches(true, 0, "Bearer ", 0, 7)) {
      key = auth.substring(7).trim();
    }
    if (key == null) {
      // A proxyless gRPC client cannot add metadata to its xDS stream: its key is checked from
      // node.metadata on the stream's first request (ProxyStreams.admit).
      return next.startCall(call, headers);
    }
    Optional<UUID> cluster = keys.clusterOf(key);
    if (cluster.isEmpty()) {
      call.close(
          Status.UNAUTHENTICATED.withDescription("cluster API key unknown, expired or revoked"),
          new Metadata());
      return new ServerCall.Listener<>() {};
    }
    return Contexts.interceptCall(
        Context.current().withValue(CLUSTER, cluster.get()), call, headers, next);
  }
}
