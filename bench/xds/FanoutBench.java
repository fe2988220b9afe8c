import com.google.protobuf.CodedInputStream;
import com.google.protobuf.Duration;
import com.google.protobuf.Message;
import com.google.protobuf.UInt32Value;
import io.envoyproxy.controlplane.cache.ConfigWatcher;
import io.envoyproxy.controlplane.cache.v3.SimpleCache;
import io.envoyproxy.controlplane.server.DefaultExecutorGroup;
import io.envoyproxy.controlplane.server.V3DiscoveryServer;
import io.envoyproxy.controlplane.server.serializer.CachedProtoResourcesSerializer;
import io.envoyproxy.controlplane.server.serializer.DefaultProtoResourcesSerializer;
import io.envoyproxy.controlplane.server.serializer.ProtoResourcesSerializer;
import io.envoyproxy.envoy.config.cluster.v3.CircuitBreakers;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.AggregatedConfigSource;
import io.envoyproxy.envoy.config.core.v3.ConfigSource;
import io.envoyproxy.envoy.config.core.v3.Locality;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.Endpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerServiceDefinition;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.shaded.io.netty.channel.nio.NioEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.socket.nio.NioSocketChannel;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.StreamObserver;
import io.marchproxy.xds.cache.ResourceSet;
import io.marchproxy.xds.cache.Snapshot;
import io.marchproxy.xds.cache.SnapshotCache;
import io.marchproxy.xds.cache.TypeUrls;
import io.marchproxy.xds.serve.AdsServing;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * Fan-out: time from publishing a snapshot of N clusters (+ N endpoint assignments) to the last of
 * M ADS clients having both, in one JVM, on identical resources, each variant on its own real gRPC
 * (Netty, loopback) server: java-control-plane's stock SimpleCache behind its stock
 * V3DiscoveryServer, and MarchProxy's SnapshotCache served exactly as xds-service serves it ({@link
 * AdsServing#definition}: the same server with PackedResources and the serialize-once response
 * marshaller; only the stream callbacks and the key check, which need Postgres, are left out).
 * Clients behave like Envoy: CDS wildcard, EDS by name, node on every request, every response
 * ACKed at once; they are the same for every variant and run on their own threads, so the CPU they
 * use is reported apart. Publishes alternate between the variants so machine noise hits all alike.
 *
 * <pre>
 *   java FanoutBench.java [--cases 1000x10,1000x100,10000x10,10000x100] [--rounds 5]
 *                         [--variants stock,marchproxy,bytes-only,stock+cachedser]
 * </pre>
 */
public final class FanoutBench {

  static final String CDS = TypeUrls.CLUSTER;
  static final String EDS = TypeUrls.ENDPOINT;

  public static void main(String[] args) throws Exception {
    Map<String, String> o = new LinkedHashMap<>();
    for (int i = 0; i + 1 < args.length; i += 2) {
      o.put(args[i].replaceFirst("^--", ""), args[i + 1]);
    }
    List<String> cases =
        List.of(o.getOrDefault("cases", "1000x10,1000x100,10000x10,10000x100").split(","));
    int rounds = Integer.parseInt(o.getOrDefault("rounds", "5"));
    List<String> variants =
        List.of(
            o.getOrDefault("variants", "stock,marchproxy,bytes-only")
                .split(","));
    System.out.printf(
        "# fan-out: %d measured publishes per variant and case (after 1 warm-up), %d CPUs, %s%n",
        rounds, Runtime.getRuntime().availableProcessors(), Runtime.version());
    List<String> table = new ArrayList<>();
    table.add(
        "| clusters × clients | cache | publish → last client (median) | min | max | publish → median client | setSnapshot blocked the caller (median) | snapshot build (median) | process CPU, publish → last client (median) | of which the clients' threads |");
    table.add("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    Map<String, Double> medians = new LinkedHashMap<>();
    for (String c : cases) {
      String[] nm = c.split("x");
      int n = Integer.parseInt(nm[0]);
      int m = Integer.parseInt(nm[1]);
      Map<String, List<Result>> results = runCase(n, m, rounds, variants);
      for (var e : results.entrySet()) {
        List<Result> rs = e.getValue();
        double last = median(rs.stream().mapToDouble(Result::lastMs).toArray());
        medians.put(c + "|" + e.getKey(), last);
        table.add(
            String.format(
                "| %,d × %d | %s | %s | %s | %s | %s | %s | %s | %s | %s |",
                n,
                m,
                label(e.getKey()),
                ms(last),
                ms(rs.stream().mapToDouble(Result::lastMs).min().orElse(0)),
                ms(rs.stream().mapToDouble(Result::lastMs).max().orElse(0)),
                ms(median(rs.stream().mapToDouble(Result::medianClientMs).toArray())),
                ms(median(rs.stream().mapToDouble(Result::setMs).toArray())),
                ms(median(rs.stream().mapToDouble(Result::buildMs).toArray())),
                ms(median(rs.stream().mapToDouble(Result::cpuMs).toArray())),
                ms(median(rs.stream().mapToDouble(Result::clientCpuMs).toArray()))));
      }
    }
    System.out.println();
    table.forEach(System.out::println);
    System.out.println();
    System.out.println("Ratios, stock ÷ MarchProxy (publish → last client, medians):");
    for (String c : cases) {
      Double stock = medians.get(c + "|stock");
      for (String v : variants) {
        if (!v.equals("stock") && stock != null && medians.containsKey(c + "|" + v)) {
          double ours = medians.get(c + "|" + v);
          System.out.printf("- %s, %s: %.2f×%n", c, label(v), stock / ours);
        }
      }
    }
    CLIENT_LOOP.shutdownGracefully(0, 1, TimeUnit.SECONDS).await(5, TimeUnit.SECONDS);
    CLIENT_EXECUTOR.shutdownNow();
  }

  static String label(String variant) {
    return switch (variant) {
      case "stock" -> "stock SimpleCache";
      case "marchproxy" -> "MarchProxy SnapshotCache (as xds-service ships it)";
      case "stock+cachedser" -> "stock SimpleCache + CachedProtoResourcesSerializer";
      case "bytes-only" -> "bytes only: encoded once, written to every stream, no cache";
      default -> variant;
    };
  }

  static String ms(double v) {
    return v >= 1000 ? String.format("%.2f s", v / 1000) : String.format("%.1f ms", v);
  }

  static double median(double[] xs) {
    double[] s = xs.clone();
    Arrays.sort(s);
    return s.length == 0 ? 0 : s[s.length / 2];
  }

  /**
   * cpuMs: CPU time of the whole process (server, cache and clients) from publish to the last
   * client; clientCpuMs: the part of it the clients' threads used; threads: CPU ms per thread
   * group over the same time.
   */
  record Result(
      double buildMs,
      double setMs,
      double lastMs,
      double medianClientMs,
      double cpuMs,
      double clientCpuMs,
      String threads) {}

  static final com.sun.management.OperatingSystemMXBean OS =
      (com.sun.management.OperatingSystemMXBean)
          java.lang.management.ManagementFactory.getOperatingSystemMXBean();

  // ---------------------------------------------------------------------------------------------
  // Resources: identical messages for every variant.

  static List<Cluster> clusters(int n, int round) {
    List<Cluster> out = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      String name = name(i);
      out.add(
          Cluster.newBuilder()
              .setName(name)
              .setType(Cluster.DiscoveryType.EDS)
              .setEdsClusterConfig(
                  Cluster.EdsClusterConfig.newBuilder()
                      .setServiceName(name)
                      .setEdsConfig(
                          ConfigSource.newBuilder()
                              .setAds(AggregatedConfigSource.getDefaultInstance())
                              .setResourceApiVersion(
                                  io.envoyproxy.envoy.config.core.v3.ApiVersion.V3)))
              .setConnectTimeout(Duration.newBuilder().setSeconds(1 + round % 5))
              .setLbPolicy(Cluster.LbPolicy.LEAST_REQUEST)
              .setCircuitBreakers(
                  CircuitBreakers.newBuilder()
                      .addThresholds(
                          CircuitBreakers.Thresholds.newBuilder()
                              .setMaxConnections(UInt32Value.of(1024 + round))
                              .setMaxPendingRequests(UInt32Value.of(1024))
                              .setMaxRequests(UInt32Value.of(1024))
                              .setMaxRetries(UInt32Value.of(3))))
              .build());
    }
    return out;
  }

  static List<ClusterLoadAssignment> endpoints(int n, int round) {
    List<ClusterLoadAssignment> out = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      var cla = ClusterLoadAssignment.newBuilder().setClusterName(name(i));
      for (int z = 0; z < 2; z++) {
        var loc =
            LocalityLbEndpoints.newBuilder()
                .setLocality(
                    Locality.newBuilder().setRegion("eu-west-1").setZone("eu-west-1" + "ab".charAt(z)))
                .setLoadBalancingWeight(UInt32Value.of(1));
        for (int e = 0; e < 2; e++) {
          loc.addLbEndpoints(
              LbEndpoint.newBuilder()
                  .setLoadBalancingWeight(UInt32Value.of(1))
                  .setEndpoint(
                      Endpoint.newBuilder()
                          .setAddress(
                              Address.newBuilder()
                                  .setSocketAddress(
                                      SocketAddress.newBuilder()
                                          .setAddress(
                                              "10." + z + "." + (i / 250) + "." + (i % 250 + e))
                                          .setPortValue(8000 + round % 1000)))));
        }
        cla.addEndpoints(loc);
      }
      out.add(cla.build());
    }
    return out;
  }

  static String name(int i) {
    return String.format("svc-%05d", i);
  }

  // ---------------------------------------------------------------------------------------------
  // Variants: a cache behind its own V3DiscoveryServer and gRPC server.

  abstract static class Variant implements AutoCloseable {
    final String name;
    final Server server;
    final ConfigWatcher cache;
    final List<Client> clients = new ArrayList<>();

    Variant(String name, ConfigWatcher cache, ServerServiceDefinition ads) throws IOException {
      this.name = name;
      this.cache = cache;
      server =
          NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
              .addService(ads)
              .maxInboundMessageSize(64 << 20)
              .build()
              .start();
    }

    /** java-control-plane's server as a stock user builds it. */
    static ServerServiceDefinition stockServer(ConfigWatcher cache, ProtoResourcesSerializer ser) {
      return new V3DiscoveryServer(List.of(), cache, new DefaultExecutorGroup(), ser)
          .getAggregatedDiscoveryServiceImpl()
          .bindService();
    }

    /** Builds the cache's snapshot, publishes it; returns the version per type clients will see. */
    abstract Map<String, String> publish(
        int round, List<Cluster> cs, List<ClusterLoadAssignment> es, long[] timings);

    @Override
    public void close() throws Exception {
      for (Client c : clients) {
        c.close();
      }
      server.shutdownNow().awaitTermination(10, TimeUnit.SECONDS);
    }
  }

  static final class Stock extends Variant {
    private final SimpleCache<String> simple;

    Stock(String name, ProtoResourcesSerializer ser) throws IOException {
      this(name, new SimpleCache<String>(node -> "bench"), ser);
    }

    private Stock(String name, SimpleCache<String> c, ProtoResourcesSerializer ser)
        throws IOException {
      super(name, c, stockServer(c, ser));
      simple = c;
    }

    @Override
    Map<String, String> publish(
        int round, List<Cluster> cs, List<ClusterLoadAssignment> es, long[] t) {
      String version = "r" + round;
      long a = System.nanoTime();
      var snapshot =
          io.envoyproxy.controlplane.cache.v3.Snapshot.create(
              cs, es, List.of(), List.of(), List.of(), version);
      long b = System.nanoTime();
      simple.setSnapshot("bench", snapshot);
      t[0] = a;
      t[1] = b;
      t[2] = System.nanoTime();
      return Map.of(CDS, version, EDS, version);
    }
  }

  static final class Ours extends Variant {
    private final SnapshotCache snapshots;
    private final ExecutorService pool;

    Ours(String name) throws IOException {
      this(name, AdsServing.deliveryPool());
    }

    private Ours(String name, ExecutorService pool) throws IOException {
      this(name, pool, new SnapshotCache(node -> "bench", pool));
    }

    /**
     * Served exactly as xds-service serves it ({@link AdsServing#definition}), minus the stream
     * callbacks and the key check, which need its Postgres (the stock server has none either).
     */
    private Ours(String name, ExecutorService pool, SnapshotCache c) throws IOException {
      super(name, c, AdsServing.definition(c, List.of()));
      this.pool = pool;
      this.snapshots = c;
    }

    @Override
    Map<String, String> publish(
        int round, List<Cluster> cs, List<ClusterLoadAssignment> es, long[] t) {
      long a = System.nanoTime();
      Map<String, Message> byNameC = new LinkedHashMap<>();
      cs.forEach(c -> byNameC.put(c.getName(), c));
      Map<String, Message> byNameE = new LinkedHashMap<>();
      es.forEach(e -> byNameE.put(e.getClusterName(), e));
      ResourceSet cds = ResourceSet.of(CDS, byNameC);
      ResourceSet eds = ResourceSet.of(EDS, byNameE);
      var snapshot = new Snapshot(round, Map.of(CDS, cds, EDS, eds));
      long b = System.nanoTime();
      snapshots.setSnapshot("bench", snapshot);
      t[0] = a;
      t[1] = b;
      t[2] = System.nanoTime();
      return Map.of(CDS, cds.version(), EDS, eds.version());
    }

    @Override
    public void close() throws Exception {
      super.close();
      pool.shutdownNow();
    }
  }

  /**
   * Bytes only, not a cache: each publish encodes the two responses once and writes them to every
   * stream as they are (one shared nonce), from the same delivery pool, with no versions, watches or
   * per-stream state; ACKs are parsed (any server must read them) and then ignored. Its CPU per
   * publish is what moving these bytes through gRPC to these clients costs on this machine, which
   * bounds how fast any control plane serving the same snapshots can be on it.
   */
  static final class BytesOnly extends Variant {
    private final List<StreamObserver<AdsWire.Wire>> streams;
    private final ExecutorService pool;

    BytesOnly(String name) throws IOException {
      this(name, new java.util.concurrent.CopyOnWriteArrayList<>());
    }

    private BytesOnly(String name, List<StreamObserver<AdsWire.Wire>> streams) throws IOException {
      super(name, null, service(streams));
      this.streams = streams;
      this.pool = AdsServing.deliveryPool();
    }

    static ServerServiceDefinition service(List<StreamObserver<AdsWire.Wire>> streams) {
      var m = AggregatedDiscoveryServiceGrpc.getStreamAggregatedResourcesMethod();
      var method = m.toBuilder(m.getRequestMarshaller(), AdsWire.WIRE).build();
      return ServerServiceDefinition.builder(AggregatedDiscoveryServiceGrpc.SERVICE_NAME)
          .addMethod(
              method,
              io.grpc.stub.ServerCalls.asyncBidiStreamingCall(
                  responses -> {
                    streams.add(responses);
                    return new StreamObserver<DiscoveryRequest>() {
                      @Override
                      public void onNext(DiscoveryRequest request) {}

                      @Override
                      public void onError(Throwable t) {
                        streams.remove(responses);
                      }

                      @Override
                      public void onCompleted() {
                        streams.remove(responses);
                        responses.onCompleted();
                      }
                    };
                  }))
          .build();
    }

    static byte[] encode(String type, String version, List<? extends Message> resources) {
      var r =
          io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse.newBuilder()
              .setVersionInfo(version)
              .setTypeUrl(type)
              .setNonce("n");
      resources.forEach(x -> r.addResources(com.google.protobuf.Any.pack(x)));
      return r.build().toByteArray();
    }

    @Override
    Map<String, String> publish(
        int round, List<Cluster> cs, List<ClusterLoadAssignment> es, long[] t) {
      for (int i = 0; i < 1000 && streams.size() < clients.size(); i++) {
        try {
          Thread.sleep(10); // the clients' streams reach the server after their first request
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
      String version = "r" + round;
      long a = System.nanoTime();
      AdsWire.Wire cds = new AdsWire.Wire(encode(CDS, version, cs), new byte[0]);
      AdsWire.Wire eds = new AdsWire.Wire(encode(EDS, version, es), new byte[0]);
      long b = System.nanoTime();
      for (StreamObserver<AdsWire.Wire> s : streams) {
        pool.execute(
            () -> {
              synchronized (s) {
                s.onNext(cds);
                s.onNext(eds);
              }
            });
      }
      t[0] = a;
      t[1] = b;
      t[2] = System.nanoTime();
      return Map.of(CDS, version, EDS, version);
    }

    @Override
    public void close() throws Exception {
      super.close();
      pool.shutdownNow();
    }
  }

  static Variant variant(String name) throws IOException {
    return switch (name) {
      case "stock" -> new Stock(name, new DefaultProtoResourcesSerializer());
      case "stock+cachedser" -> new Stock(name, new CachedProtoResourcesSerializer());
      case "marchproxy" -> new Ours(name);
      case "bytes-only" -> new BytesOnly(name);
      default -> throw new IllegalArgumentException("unknown variant " + name);
    };
  }

  // ---------------------------------------------------------------------------------------------
  // Clients: Envoy-like ADS streams, built to cost as little CPU as possible on this shared
  // machine, the same for every variant. A response is read for version, type and nonce only,
  // in gRPC's received buffers: its resources are skipped, neither copied nor decoded. A request is sent as the
  // bytes Envoy would send, with the EDS names encoded once per client instead of once per ACK
  // (protobuf puts the fields of concatenated encodings together, so the server parses the same
  // request).

  record Light(String version, String typeUrl, String nonce, int resources) {}

  static final MethodDescriptor.Marshaller<Light> LIGHT =
      new MethodDescriptor.Marshaller<>() {
        @Override
        public InputStream stream(Light value) {
          throw new UnsupportedOperationException();
        }

        @Override
        public Light parse(InputStream stream) {
          try {
            CodedInputStream in = CodedInputStream.newInstance(AdsWire.received(stream));
            in.setSizeLimit(Integer.MAX_VALUE);
            String version = "", type = "", nonce = "";
            int resources = 0;
            while (true) {
              int tag = in.readTag();
              switch (tag >>> 3) {
                case 0 -> {
                  return new Light(version, type, nonce, resources);
                }
                case 1 -> version = in.readStringRequireUtf8();
                case 4 -> type = in.readStringRequireUtf8();
                case 5 -> nonce = in.readStringRequireUtf8();
                case 2 -> {
                  resources++;
                  in.skipField(tag);
                }
                default -> in.skipField(tag);
              }
            }
          } catch (IOException e) {
            throw new UncheckedIOException(e);
          }
        }
      };

  static final MethodDescriptor<AdsWire.Wire, Light> ADS =
      AggregatedDiscoveryServiceGrpc.getStreamAggregatedResourcesMethod()
          .toBuilder(AdsWire.WIRE, LIGHT)
          .build();

  /** What one publish waits for: every client holding the target version of CDS and EDS. */
  static final class Round {
    final Map<String, String> want;
    final long[] cds;
    final long[] eds;
    final CountDownLatch done;

    Round(Map<String, String> want, int clients) {
      this.want = want;
      cds = new long[clients];
      eds = new long[clients];
      done = new CountDownLatch(clients);
    }

    synchronized void arrived(int client, Light r, long now) {
      boolean before = cds[client] != 0 && eds[client] != 0;
      if (r.typeUrl().equals(CDS) && r.version().equals(want.get(CDS)) && cds[client] == 0) {
        cds[client] = now;
      } else if (r.typeUrl().equals(EDS)
          && r.version().equals(want.get(EDS))
          && eds[client] == 0) {
        eds[client] = now;
      }
      if (!before && cds[client] != 0 && eds[client] != 0) {
        done.countDown();
      }
    }
  }

  /**
   * The clients' own threads (same for every variant), apart from the servers' so that the CPU
   * each side uses can be told apart: "bench-client-" threads are the clients', all others the
   * server side's (and the JVM's).
   */
  static final NioEventLoopGroup CLIENT_LOOP =
      new NioEventLoopGroup(
          2, Thread.ofPlatform().daemon().name("bench-client-loop-", 0).factory());

  static final ExecutorService CLIENT_EXECUTOR =
      Executors.newFixedThreadPool(
          2, Thread.ofPlatform().daemon().name("bench-client-exec-", 0).factory());

  static final java.lang.management.ThreadMXBean THREADS =
      java.lang.management.ManagementFactory.getThreadMXBean();

  /**
   * CPU nanoseconds used so far per thread group (the thread's name without its numbers: the
   * server's Netty event loops, gRPC executors, delivery pool, the clients' loops and executors).
   */
  static Map<String, Long> cpuByGroup() {
    Map<String, Long> groups = new java.util.TreeMap<>();
    for (java.lang.management.ThreadInfo t : THREADS.getThreadInfo(THREADS.getAllThreadIds())) {
      if (t != null) {
        long c = Math.max(0, THREADS.getThreadCpuTime(t.getThreadId()));
        groups.merge(t.getThreadName().replaceAll("[0-9]+", "N"), c, Long::sum);
      }
    }
    return groups;
  }

  /** The CPU of each group from {@code before} to {@code after}, in ms, groups above 2 ms. */
  static String cpuSpent(Map<String, Long> before, Map<String, Long> after) {
    StringBuilder out = new StringBuilder();
    after.forEach(
        (group, ns) -> {
          double ms = (ns - before.getOrDefault(group, 0L)) / 1e6;
          if (ms > 2) {
            out.append(String.format(" %s=%.0f", group, ms));
          }
        });
    return out.toString();
  }

  /** The clients' threads' part of a {@link #cpuByGroup()} difference, in ns. */
  static long clientCpu(Map<String, Long> before, Map<String, Long> after) {
    long sum = 0;
    for (var e : after.entrySet()) {
      if (e.getKey().startsWith("bench-client-")) {
        sum += e.getValue() - before.getOrDefault(e.getKey(), 0L);
      }
    }
    return sum;
  }

  static final class Client implements StreamObserver<Light> {
    final int index;
    final ManagedChannel channel;
    final Node node;
    final byte[] edsNames;
    final StreamObserver<AdsWire.Wire> out;
    volatile Round round;
    volatile Throwable error;

    Client(int index, int port, byte[] edsNames) {
      this.index = index;
      this.edsNames = edsNames;
      node = Node.newBuilder().setId("bench-" + index).setCluster("bench").build();
      channel =
          NettyChannelBuilder.forAddress("127.0.0.1", port)
              .eventLoopGroup(CLIENT_LOOP)
              .channelType(NioSocketChannel.class)
              .executor(CLIENT_EXECUTOR)
              .usePlaintext()
              .maxInboundMessageSize(512 << 20)
              .build();
      out = ClientCalls.asyncBidiStreamingCall(channel.newCall(ADS, CallOptions.DEFAULT), this);
      synchronized (this) {
        out.onNext(AdsWire.Wire.of(DiscoveryRequest.newBuilder().setNode(node).setTypeUrl(CDS).build(), new byte[0]));
        out.onNext(AdsWire.Wire.of(DiscoveryRequest.newBuilder().setNode(node).setTypeUrl(EDS).build(), edsNames));
      }
    }

    @Override
    public void onNext(Light r) {
      long now = System.nanoTime();
      var ack =
          DiscoveryRequest.newBuilder()
              .setNode(node)
              .setTypeUrl(r.typeUrl())
              .setVersionInfo(r.version())
              .setResponseNonce(r.nonce());
      AdsWire.Wire wire = AdsWire.Wire.of(ack.build(), r.typeUrl().equals(EDS) ? edsNames : new byte[0]);
      synchronized (this) {
        out.onNext(wire);
      }
      Round current = round;
      if (current != null) {
        current.arrived(index, r, now);
      }
    }

    @Override
    public void onError(Throwable t) {
      error = t;
    }

    @Override
    public void onCompleted() {}

    void close() throws InterruptedException {
      try {
        synchronized (this) {
          out.onCompleted();
        }
      } catch (RuntimeException ignored) {
        // already closed
      }
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  // ---------------------------------------------------------------------------------------------

  static String loadavg() {
    try {
      return String.join(" ", Arrays.copyOf(java.nio.file.Files.readString(java.nio.file.Path.of("/proc/loadavg")).split(" "), 3));
    } catch (IOException e) {
      return "unknown";
    }
  }

  static Map<String, List<Result>> runCase(int n, int m, int rounds, List<String> names)
      throws Exception {
    System.out.printf("# case %,d clusters × %d clients; load average %s%n", n, m, loadavg());
    var asked = DiscoveryRequest.newBuilder();
    for (int i = 0; i < n; i++) {
      asked.addResourceNames(name(i));
    }
    byte[] edsNames = asked.build().toByteArray(); // field 3 only
    List<Variant> variants = new ArrayList<>();
    Map<String, List<Result>> results = new LinkedHashMap<>();
    try {
      for (String name : names) {
        Variant v = variant(name);
        variants.add(v);
        for (int i = 0; i < m; i++) {
          v.clients.add(new Client(i, v.server.getPort(), edsNames));
        }
        results.put(name, new ArrayList<>());
      }
      // round 0: initial config; round 1: warm-up; then the measured rounds.
      for (int round = 0; round < rounds + 2; round++) {
        for (int k = 0; k < variants.size(); k++) {
          // alternate the order so neither variant always follows the other
          Variant v = variants.get((round % 2 == 0) ? k : variants.size() - 1 - k);
          // Fresh message objects per variant: no variant reuses another's memoized sizes or
          // serialized bytes.
          List<Cluster> cs = clusters(n, round);
          List<ClusterLoadAssignment> es = endpoints(n, round);
          System.gc();
          Thread.sleep(300);
          Result r = publishOnce(v, round, cs, es, m);
          if (round >= 2) {
            results.get(v.name).add(r);
          }
          System.out.printf(
              "%s round %d %-22s build %8.1f ms  setSnapshot %8.1f ms  median client %8.1f ms  last client %8.1f ms  process CPU %8.1f ms (clients %8.1f ms)%n",
              round < 2 ? "  (warm)" : "  ", round, v.name, r.buildMs, r.setMs, r.medianClientMs, r.lastMs, r.cpuMs, r.clientCpuMs);
          System.out.println("      CPU ms by thread group:" + r.threads());
        }
      }
    } finally {
      for (Variant v : variants) {
        v.close();
      }
    }
    return results;
  }

  static Result publishOnce(
      Variant v, int round, List<Cluster> cs, List<ClusterLoadAssignment> es, int m)
      throws Exception {
    // The versions are only known after building; install a round that learns them first.
    long[] t = new long[3];
    Round pending = new Round(expectedVersions(v, round, cs.size()), m);
    for (Client c : v.clients) {
      c.round = pending;
    }
    long cpu0 = OS.getProcessCpuTime();
    Map<String, Long> groups0 = cpuByGroup();
    Map<String, String> versions = v.publish(round, cs, es, t);
    if (!versions.equals(pending.want)) {
      throw new IllegalStateException("versions differ from the expected ones: " + versions);
    }
    boolean done = pending.done.await(300, TimeUnit.SECONDS);
    long cpu1 = OS.getProcessCpuTime();
    Map<String, Long> groups1 = cpuByGroup();
    if (!done) {
      StringBuilder errors = new StringBuilder();
      for (Client c : v.clients) {
        if (c.error != null) {
          errors.append(c.error).append('\n');
        }
      }
      throw new IllegalStateException(
          v.name + ": not every client had round " + round + " within 300 s; waiting for "
              + pending.done.getCount() + "\n" + errors);
    }
    for (Client c : v.clients) {
      c.round = null;
    }
    double[] perClient = new double[m];
    double last = 0;
    for (int i = 0; i < m; i++) {
      long have = Math.max(pending.cds[i], pending.eds[i]);
      perClient[i] = (have - t[0]) / 1e6;
      last = Math.max(last, perClient[i]);
    }
    return new Result(
        (t[1] - t[0]) / 1e6,
        (t[2] - t[1]) / 1e6,
        last,
        median(perClient),
        (cpu1 - cpu0) / 1e6,
        clientCpu(groups0, groups1) / 1e6,
        cpuSpent(groups0, groups1));
  }

  /** The versions each variant will publish: the stock cache's is ours to name; ours hashes. */
  static Map<String, String> expectedVersions(Variant v, int round, int n) {
    if (v instanceof Stock || v instanceof BytesOnly) {
      return Map.of(CDS, "r" + round, EDS, "r" + round);
    }
    // computed on a separate copy, so the measured publish starts from cold messages
    List<Cluster> cs = clusters(n, round);
    List<ClusterLoadAssignment> es = endpoints(n, round);
    Map<String, Message> c = new LinkedHashMap<>();
    cs.forEach(x -> c.put(x.getName(), x));
    Map<String, Message> e = new LinkedHashMap<>();
    es.forEach(x -> e.put(x.getClusterName(), x));
    return Map.of(CDS, ResourceSet.of(CDS, c).version(), EDS, ResourceSet.of(EDS, e).version());
  }
}
