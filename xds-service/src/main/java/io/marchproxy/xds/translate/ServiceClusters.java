package io.marchproxy.xds.translate;

import com.google.common.cache.Cache;
import com.google.common.cache.CacheBuilder;
import com.google.protobuf.Any;
import com.google.protobuf.UInt32Value;
import com.google.protobuf.util.Durations;
import io.envoyproxy.envoy.config.cluster.v3.CircuitBreakers;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.config.core.v3.HealthCheck;
import io.envoyproxy.envoy.config.core.v3.Http1ProtocolOptions;
import io.envoyproxy.envoy.config.core.v3.Http2ProtocolOptions;
import io.envoyproxy.envoy.config.core.v3.Locality;
import io.envoyproxy.envoy.config.core.v3.RequestMethod;
import io.envoyproxy.envoy.config.core.v3.RoutingPriority;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.core.v3.TransportSocket;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.Endpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CertificateValidationContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CommonTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SubjectAltNameMatcher;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import io.envoyproxy.envoy.extensions.upstreams.http.v3.HttpProtocolOptions;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import io.marchproxy.core.config.ClusterConfig;
import io.marchproxy.core.config.ServiceSpec;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;

/** A service → its Cluster and ClusterLoadAssignment, for one data-plane kind. */
final class ServiceClusters {

  static final int DEFAULT_CONNECT_TIMEOUT_MS = 5_000;
  static final int DEFAULT_HEALTH_INTERVAL_MS = 5_000;
  static final int DEFAULT_HEALTH_TIMEOUT_MS = 2_000;
  static final int DEFAULT_HEALTHY_THRESHOLD = 2;
  static final int DEFAULT_UNHEALTHY_THRESHOLD = 3;

  /**
   * Envoy's own defaults (1024 connections/requests, 3 concurrent retries) throttle a busy edge
   * long before the backends are in trouble; these are per proxy and per service.
   */
  static final int MAX_CONNECTIONS = 10_000;

  static final int MAX_PENDING_REQUESTS = 10_000;
  static final int MAX_REQUESTS = 10_000;
  static final int MAX_RETRIES = 64;

  /** Where the Envoy image keeps the system CA bundle (Debian/Ubuntu layout). */
  static final String SYSTEM_CA_FILE = "/etc/ssl/certs/ca-certificates.crt";

  private static final Pattern IPV4 = Pattern.compile("^\\d{1,3}(\\.\\d{1,3}){3}$");

  /**
   * What was built for each service object, per plane kind (the only part of the plane a cluster
   * depends on). The loader hands an unchanged service on as the same object ({@code
   * io.marchproxy.xds.load.SameServices}), so a revision that changes one service of 1,000 rebuilds
   * one cluster and one assignment, and the unchanged ones are the very same messages as in the
   * previous snapshot (the cache then reuses their versions and packed bytes). Keys are weak and
   * compared by identity: entries go with the documents that hold their services. A service object
   * never changes (records of records), so what was built for it stays right.
   */
  private static final Map<String, Cache<ClusterConfig.Service, Cluster>> CLUSTERS =
      new ConcurrentHashMap<>();

  private static final Cache<ClusterConfig.Service, ClusterLoadAssignment> ASSIGNMENTS =
      CacheBuilder.newBuilder().weakKeys().concurrencyLevel(4).build();

  private ServiceClusters() {}

  static Cluster cluster(ClusterConfig.Service service, DataPlane plane) {
    Cache<ClusterConfig.Service, Cluster> built =
        CLUSTERS.computeIfAbsent(
            plane.kind(), k -> CacheBuilder.newBuilder().weakKeys().concurrencyLevel(4).build());
    Cluster c = built.getIfPresent(service);
    if (c == null) {
      c = build(service, plane);
      built.put(service, c);
    }
    return c;
  }

  static ClusterLoadAssignment loadAssignment(ClusterConfig.Service service) {
    ClusterLoadAssignment a = ASSIGNMENTS.getIfPresent(service);
    if (a == null) {
      a = buildAssignment(service);
      ASSIGNMENTS.put(service, a);
    }
    return a;
  }

  private static Cluster build(ClusterConfig.Service service, DataPlane plane) {
    ServiceSpec spec = Document.spec(service);
    String name = ResourceNames.cluster(service.name());
    Cluster.Builder c =
        Cluster.newBuilder()
            .setName(name)
            .setConnectTimeout(
                Durations.fromMillis(
                    spec.timeouts() != null && spec.timeouts().connectMs() != null
                        ? spec.timeouts().connectMs()
                        : DEFAULT_CONNECT_TIMEOUT_MS))
            .setLbPolicy(lbPolicy(spec.lbPolicy(), plane))
            .setCircuitBreakers(circuitBreakers());
    if (plane instanceof DataPlane.Envoy && hasHostname(spec)) {
      // Envoy refuses hostnames in EDS ("malformed IP address"); it resolves them itself here.
      c.setType(Cluster.DiscoveryType.STRICT_DNS)
          .setDnsLookupFamily(Cluster.DnsLookupFamily.V4_PREFERRED)
          .setLoadAssignment(loadAssignment(service));
    } else {
      c.setType(Cluster.DiscoveryType.EDS)
          .setEdsClusterConfig(
              Cluster.EdsClusterConfig.newBuilder().setEdsConfig(Ads.CONFIG_SOURCE));
    }
    if (!(plane instanceof DataPlane.Grpc)) {
      // Proxyless clients do not health-check and ignore upstream HTTP options; keep theirs lean.
      if (spec.healthCheck() != null && !"udp".equals(service.protocol())) {
        c.addHealthChecks(healthCheck(service, spec.healthCheck()));
      }
      httpProtocolOptions(service, spec)
          .ifPresent(
              o -> c.putTypedExtensionProtocolOptions(ResourceNames.HTTP_PROTOCOL_OPTIONS, o));
    }
    if (spec.tls() != null
        && Boolean.TRUE.equals(spec.tls().enabled())
        && !"udp".equals(service.protocol())) {
      c.setTransportSocket(
          TransportSocket.newBuilder()
              .setName(ResourceNames.TLS_TRANSPORT_SOCKET)
              .setTypedConfig(Any.pack(upstreamTls(service, spec.tls(), plane))));
    }
    return c.build();
  }

  /**
   * Localities are (region, zone, priority) groups. Priorities are renumbered densely from 0 in the
   * operator's order, because grpc-xds refuses sparse priorities; a locality's weight is the sum of
   * its endpoints' weights (at least 1: grpc-xds silently drops a locality without one).
   */
  private static ClusterLoadAssignment buildAssignment(ClusterConfig.Service service) {
    ServiceSpec spec = Document.spec(service);
    List<ServiceSpec.Endpoint> endpoints =
        Document.list(spec.endpoints()).stream().filter(e -> e != null).toList();
    TreeSet<Integer> priorities = new TreeSet<>();
    endpoints.forEach(e -> priorities.add(Document.or(e.priority(), 0)));
    List<Integer> dense = new ArrayList<>(priorities);
    record LocalityKey(int priority, String region, String zone) {}
    Map<LocalityKey, List<ServiceSpec.Endpoint>> byLocality =
        new TreeMap<>(
            Comparator.comparingInt(LocalityKey::priority)
                .thenComparing(LocalityKey::region)
                .thenComparing(LocalityKey::zone));
    for (ServiceSpec.Endpoint e : endpoints) {
      var key =
          new LocalityKey(
              dense.indexOf(Document.or(e.priority(), 0)),
              Document.or(e.region(), ""),
              Document.or(e.zone(), ""));
      byLocality.computeIfAbsent(key, k -> new ArrayList<>()).add(e);
    }
    SocketAddress.Protocol protocol =
        "udp".equals(service.protocol()) ? SocketAddress.Protocol.UDP : SocketAddress.Protocol.TCP;
    ClusterLoadAssignment.Builder cla =
        ClusterLoadAssignment.newBuilder().setClusterName(ResourceNames.cluster(service.name()));
    byLocality.forEach(
        (key, members) -> {
          LocalityLbEndpoints.Builder locality =
              LocalityLbEndpoints.newBuilder()
                  .setLocality(Locality.newBuilder().setRegion(key.region()).setZone(key.zone()))
                  .setPriority(key.priority());
          long total = 0;
          for (ServiceSpec.Endpoint e :
              members.stream()
                  .sorted(
                      Comparator.comparing((ServiceSpec.Endpoint e) -> Document.or(e.host(), ""))
                          .thenComparingInt(e -> Document.or(e.port(), 0))
                          .thenComparingInt(e -> weight(e)))
                  .toList()) {
            total += weight(e);
            locality.addLbEndpoints(
                LbEndpoint.newBuilder()
                    .setEndpoint(
                        Endpoint.newBuilder()
                            .setAddress(
                                Address.newBuilder()
                                    .setSocketAddress(
                                        SocketAddress.newBuilder()
                                            .setProtocol(protocol)
                                            .setAddress(Document.or(e.host(), ""))
                                            .setPortValue(Document.or(e.port(), 0)))))
                    .setLoadBalancingWeight(UInt32Value.of(weight(e))));
          }
          locality.setLoadBalancingWeight(
              UInt32Value.of((int) Math.max(1, Math.min(total, Integer.MAX_VALUE))));
          cla.addEndpoints(locality);
        });
    return cla.build();
  }

  static boolean usesHashing(ClusterConfig.Service service) {
    String lb = Document.spec(service).lbPolicy();
    return "ring_hash".equals(lb) || "maglev".equals(lb);
  }

  private static int weight(ServiceSpec.Endpoint e) {
    return Math.max(1, Document.or(e.weight(), 1));
  }

  /** grpc-xds knows only ROUND_ROBIN, RING_HASH and LEAST_REQUEST. */
  static Cluster.LbPolicy lbPolicy(String policy, DataPlane plane) {
    boolean grpc = plane instanceof DataPlane.Grpc;
    return switch (Document.or(policy, "round_robin")) {
      case "least_request" -> Cluster.LbPolicy.LEAST_REQUEST;
      case "ring_hash" -> Cluster.LbPolicy.RING_HASH;
      case "maglev" -> grpc ? Cluster.LbPolicy.RING_HASH : Cluster.LbPolicy.MAGLEV;
      case "random" -> grpc ? Cluster.LbPolicy.ROUND_ROBIN : Cluster.LbPolicy.RANDOM;
      default -> Cluster.LbPolicy.ROUND_ROBIN;
    };
  }

  static boolean isIpLiteral(String host) {
    return host != null && (IPV4.matcher(host).matches() || host.contains(":"));
  }

  private static boolean hasHostname(ServiceSpec spec) {
    return Document.list(spec.endpoints()).stream()
        .anyMatch(e -> e != null && e.host() != null && !isIpLiteral(e.host()));
  }

  private static CircuitBreakers circuitBreakers() {
    return CircuitBreakers.newBuilder()
        .addThresholds(
            CircuitBreakers.Thresholds.newBuilder()
                .setPriority(RoutingPriority.DEFAULT)
                .setMaxConnections(UInt32Value.of(MAX_CONNECTIONS))
                .setMaxPendingRequests(UInt32Value.of(MAX_PENDING_REQUESTS))
                .setMaxRequests(UInt32Value.of(MAX_REQUESTS))
                .setMaxRetries(UInt32Value.of(MAX_RETRIES)))
        .build();
  }

  private static HealthCheck healthCheck(
      ClusterConfig.Service service, ServiceSpec.HealthCheck check) {
    HealthCheck.Builder h =
        HealthCheck.newBuilder()
            .setInterval(
                Durations.fromMillis(Document.or(check.intervalMs(), DEFAULT_HEALTH_INTERVAL_MS)))
            .setTimeout(
                Durations.fromMillis(Document.or(check.timeoutMs(), DEFAULT_HEALTH_TIMEOUT_MS)))
            .setHealthyThreshold(
                UInt32Value.of(Document.or(check.healthyThreshold(), DEFAULT_HEALTHY_THRESHOLD)))
            .setUnhealthyThreshold(
                UInt32Value.of(
                    Document.or(check.unhealthyThreshold(), DEFAULT_UNHEALTHY_THRESHOLD)));
    switch (Document.or(check.type(), "tcp")) {
      case "http" ->
          h.setHttpHealthCheck(
              HealthCheck.HttpHealthCheck.newBuilder()
                  .setPath(Document.or(check.path(), "/"))
                  .setMethod(RequestMethod.GET)
                  .setCodecClientType(
                      "grpc".equals(service.protocol())
                          ? io.envoyproxy.envoy.type.v3.CodecClientType.HTTP2
                          : io.envoyproxy.envoy.type.v3.CodecClientType.HTTP1));
      case "grpc" -> h.setGrpcHealthCheck(HealthCheck.GrpcHealthCheck.getDefaultInstance());
      default -> h.setTcpHealthCheck(HealthCheck.TcpHealthCheck.getDefaultInstance());
    }
    return h.build();
  }

  /** gRPC upstreams speak HTTP/2; an upstream idle timeout rides on the same options. */
  private static Optional<Any> httpProtocolOptions(
      ClusterConfig.Service service, ServiceSpec spec) {
    boolean grpc = "grpc".equals(service.protocol());
    Integer idleMs = spec.timeouts() == null ? null : spec.timeouts().idleMs();
    if (!grpc && !("http".equals(service.protocol()) && idleMs != null)) {
      return Optional.empty();
    }
    HttpProtocolOptions.ExplicitHttpConfig.Builder explicit =
        HttpProtocolOptions.ExplicitHttpConfig.newBuilder();
    if (grpc) {
      explicit.setHttp2ProtocolOptions(Http2ProtocolOptions.getDefaultInstance());
    } else {
      explicit.setHttpProtocolOptions(Http1ProtocolOptions.getDefaultInstance());
    }
    HttpProtocolOptions.Builder options =
        HttpProtocolOptions.newBuilder().setExplicitHttpConfig(explicit);
    if (idleMs != null) {
      options.setCommonHttpProtocolOptions(
          io.envoyproxy.envoy.config.core.v3.HttpProtocolOptions.newBuilder()
              .setIdleTimeout(Durations.fromMillis(idleMs)));
    }
    return Optional.of(Any.pack(options.build()));
  }

  /**
   * Verification is on unless the operator turned it off: against the service's CA when given, else
   * the system roots, and the peer must present the SNI name as a SAN.
   */
  private static UpstreamTlsContext upstreamTls(
      ClusterConfig.Service service, ServiceSpec.UpstreamTls tls, DataPlane plane) {
    UpstreamTlsContext.Builder u = UpstreamTlsContext.newBuilder();
    CommonTlsContext.Builder common = CommonTlsContext.newBuilder();
    if (tls.sni() != null) {
      u.setSni(tls.sni());
    }
    if (!Boolean.FALSE.equals(tls.verify())) {
      CertificateValidationContext.Builder v = CertificateValidationContext.newBuilder();
      if (tls.caPem() != null) {
        v.setTrustedCa(DataSource.newBuilder().setInlineString(tls.caPem()));
      } else if (plane instanceof DataPlane.Grpc) {
        // grpc-xds has no file access to trust stores; it asks for the platform's roots this way.
        v.setSystemRootCerts(CertificateValidationContext.SystemRootCerts.getDefaultInstance());
      } else {
        v.setTrustedCa(DataSource.newBuilder().setFilename(SYSTEM_CA_FILE));
      }
      if (tls.sni() != null) {
        v.addMatchTypedSubjectAltNames(
            SubjectAltNameMatcher.newBuilder()
                .setSanType(SubjectAltNameMatcher.SanType.DNS)
                .setMatcher(StringMatcher.newBuilder().setExact(tls.sni())));
      }
      common.setValidationContext(v);
    }
    if ("grpc".equals(service.protocol())) {
      common.addAlpnProtocols("h2");
    }
    return u.setCommonTlsContext(common).build();
  }
}
