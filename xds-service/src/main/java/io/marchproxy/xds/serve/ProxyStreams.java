package io.marchproxy.xds.serve;

import com.google.protobuf.Value;
import io.envoyproxy.controlplane.server.DiscoveryServerCallbacks;
import io.envoyproxy.controlplane.server.exception.RequestException;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.Status;
import io.marchproxy.core.clusters.ClusterKeyVerifier;
import io.marchproxy.core.db.Db;
import io.marchproxy.core.license.License;
import io.marchproxy.core.license.LicenseVerifier;
import io.marchproxy.xds.cache.NodeGroups;
import io.marchproxy.xds.cache.SnapshotCache;
import io.marchproxy.xds.report.ProxyReports;
import io.micronaut.transaction.TransactionOperations;
import java.sql.Connection;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Who is on each stream, checked on its first request: node.id must be a proxy registered in the
 * key's cluster, within the license. Also the stream's ACK/NACK bookkeeping: which version each
 * response nonce carried, so a NACK names the version it rejects.
 */
final class ProxyStreams implements DiscoveryServerCallbacks, NodeGroups {

  record Member(UUID proxyId, UUID clusterId, String kind) {}

  private final Db db;
  private final TransactionOperations<Connection> tx;
  private final LicenseVerifier license;
  private final ProxyReports reports;
  private final ClusterKeyVerifier keys;
  private SnapshotCache cache;
  private final Map<String, Member> nodes = new ConcurrentHashMap<>();
  private final Map<Long, String> streamNodes = new ConcurrentHashMap<>();

  /** stream → nonce → version sent with it. */
  private final Map<Long, Map<String, String>> sent = new ConcurrentHashMap<>();

  ProxyStreams(
      Db db,
      TransactionOperations<Connection> tx,
      LicenseVerifier license,
      ProxyReports reports,
      ClusterKeyVerifier keys) {
    this.keys = keys;
    this.db = db;
    this.tx = tx;
    this.license = license;
    this.reports = reports;
  }

  void attach(SnapshotCache cache) {
    this.cache = cache;
  }

  /**
   * The node of the stream whose request is being handled on this thread: java-control-plane runs
   * the request callbacks and then asks the cache for a watch, in order, on one thread, and a
   * client may send {@code node} on its first request only (Envoy's set_node_on_first_message_only,
   * many SDKs).
   */
  private static final ThreadLocal<String> CURRENT_NODE = new ThreadLocal<>();

  @Override
  public String nodeIdOf(Node node) {
    String id = node.getId();
    return id.isEmpty() && CURRENT_NODE.get() != null ? CURRENT_NODE.get() : id;
  }

  @Override
  public String groupOf(Node node) {
    Member m = nodes.get(nodeIdOf(node));
    return m == null ? null : NodeGroups.group(m.clusterId(), m.kind());
  }

  @Override
  public void onV3StreamRequest(long streamId, DiscoveryRequest request) throws RequestException {
    String nodeId = request.getNode().getId();
    if (!streamNodes.containsKey(streamId)) {
      admit(streamId, request.getNode());
    } else if (!nodeId.isEmpty() && !nodeId.equals(streamNodes.get(streamId))) {
      throw new RequestException(
          Status.PERMISSION_DENIED.withDescription("node.id changed on the stream"));
    }
    CURRENT_NODE.set(streamNodes.get(streamId));
    Member m = nodes.get(streamNodes.get(streamId));
    String nonce = request.getResponseNonce();
    if (nonce.isEmpty()) {
      return; // first request for this type
    }
    String version = sent.getOrDefault(streamId, Map.of()).get(nonce);
    if (request.hasErrorDetail()) {
      String rejectedVersion = version == null ? "" : version;
      cache.rejected(streamNodes.get(streamId), request.getTypeUrl(), rejectedVersion);
      reports.nack(
          m.proxyId(),
          request.getTypeUrl(),
          rejectedVersion,
          request.getVersionInfo(),
          request.getErrorDetail().getMessage());
    } else if (version != null && version.equals(request.getVersionInfo())) {
      reports.ack(
          m.proxyId(), NodeGroups.group(m.clusterId(), m.kind()), request.getTypeUrl(), version);
    }
  }

  /** The node.metadata field a proxyless gRPC client carries its cluster API key in. */
  static final String NODE_KEY_FIELD = "marchproxy.cluster_key";

  private void admit(long streamId, Node node) throws RequestException {
    String nodeId = node.getId();
    UUID fromMetadata = StreamAuth.CLUSTER.get();
    UUID cluster = fromMetadata != null ? fromMetadata : clusterFromNode(node);
    if (cluster == null) {
      throw new RequestException(
          Status.UNAUTHENTICATED.withDescription(
              "send the cluster API key as x-cluster-key metadata, or as node.metadata."
                  + NODE_KEY_FIELD
                  + " (proxyless gRPC)"));
    }
    admit(streamId, nodeId, cluster);
  }

  private UUID clusterFromNode(Node node) throws RequestException {
    Value key = node.getMetadata().getFieldsOrDefault(NODE_KEY_FIELD, Value.getDefaultInstance());
    if (!key.hasStringValue()) {
      return null;
    }
    return keys.clusterOf(key.getStringValue())
        .orElseThrow(
            () ->
                new RequestException(
                    Status.UNAUTHENTICATED.withDescription(
                        "cluster API key unknown, expired or revoked")));
  }

  private void admit(long streamId, String nodeId, UUID cluster) throws RequestException {
    UUID proxyId;
    try {
      proxyId = UUID.fromString(nodeId);
    } catch (IllegalArgumentException e) {
      throw new RequestException(
          Status.PERMISSION_DENIED.withDescription(
              "node.id must be the proxy id returned by POST /api/v1/proxies/register"));
    }
    record Row(String kind, long ahead) {}
    Optional<Row> row =
        tx.executeRead(
            s ->
                db.one(
                    "select p.kind, (select count(*) from proxies o where o.registered_at < p.registered_at"
                        + " and o.last_seen_at > now() - interval '5 minutes') as ahead from proxies p where p.id = ? and p.cluster_id = ?",
                    rs -> new Row(rs.getString("kind"), rs.getLong("ahead")),
                    proxyId,
                    cluster));
    if (row.isEmpty()) {
      throw new RequestException(
          Status.PERMISSION_DENIED.withDescription(
              "node.id " + nodeId + " is not a proxy registered in this key's cluster"));
    }
    License l =
        license.effective(
            tx.executeRead(
                s ->
                    db.one("select token from license where id = 1", rs -> rs.getString(1))
                        .orElse(null)));
    if (row.get().ahead() >= l.maxProxies()) {
      throw new RequestException(
          Status.RESOURCE_EXHAUSTED.withDescription(
              "license limit maxProxies="
                  + l.maxProxies()
                  + " ("
                  + l.edition()
                  + ") reached; this proxy is not served"));
    }
    nodes.put(nodeId, new Member(proxyId, cluster, row.get().kind()));
    streamNodes.put(streamId, nodeId);
    reports.connected(proxyId, true);
  }

  @Override
  public void onV3StreamResponse(
      long streamId, DiscoveryRequest request, DiscoveryResponse response) {
    reports.sent(response.getTypeUrl());
    remember(streamId, response.getNonce(), response.getVersionInfo());
  }

  /** A delta response carries the type's snapshot version as system_version_info. */
  @Override
  public void onV3StreamDeltaResponse(
      long streamId, DeltaDiscoveryRequest request, DeltaDiscoveryResponse response) {
    reports.sent(response.getTypeUrl());
    remember(streamId, response.getNonce(), response.getSystemVersionInfo());
  }

  private void remember(long streamId, String nonce, String version) {
    Map<String, String> nonces = sent.computeIfAbsent(streamId, s -> new ConcurrentHashMap<>());
    if (nonces.size() >= 64) {
      nonces.clear(); // only the latest nonces are ever answered
    }
    nonces.put(nonce, version);
  }

  @Override
  public void onV3StreamDeltaRequest(long streamId, DeltaDiscoveryRequest request)
      throws RequestException {
    if (!streamNodes.containsKey(streamId)) {
      admit(streamId, request.getNode());
    }
    CURRENT_NODE.set(streamNodes.get(streamId));
    String nonce = request.getResponseNonce();
    if (nonce.isEmpty()) {
      return; // a subscription, not an answer
    }
    Member m = nodes.get(streamNodes.get(streamId));
    String version = sent.getOrDefault(streamId, Map.of()).get(nonce);
    if (request.hasErrorDetail()) {
      if (version != null) {
        cache.rejected(streamNodes.get(streamId), request.getTypeUrl(), version);
      }
      reports.nack(
          m.proxyId(),
          request.getTypeUrl(),
          version == null ? "" : version,
          "",
          request.getErrorDetail().getMessage());
    } else if (version != null) {
      reports.ack(
          m.proxyId(), NodeGroups.group(m.clusterId(), m.kind()), request.getTypeUrl(), version);
    }
  }

  @Override
  public void onStreamClose(long streamId, String typeUrl) {
    closed(streamId);
  }

  @Override
  public void onStreamCloseWithError(long streamId, String typeUrl, Throwable error) {
    closed(streamId);
  }

  private void closed(long streamId) {
    sent.remove(streamId);
    String nodeId = streamNodes.remove(streamId);
    if (nodeId != null && !streamNodes.containsValue(nodeId)) {
      Member m = nodes.remove(nodeId);
      cache.forgetNode(nodeId);
      if (m != null) {
        reports.connected(m.proxyId(), false);
      }
    }
  }
}
