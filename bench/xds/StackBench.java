import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.protobuf.CodedInputStream;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientInterceptors;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.ByteBuffer;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Against a running {@code ./marchproxy up} (started by run.sh): REST write → ADS client ACK
 * latency at S services × C clients, and the xds-service heap with H ADS streams.
 *
 * <pre>
 *   java StackBench.java --api PORT --xds PORT --xds-http PORT --password P --license KEY
 *                        --xds-pid PID [--services 1000] [--clients 100] [--writes 60]
 *                        [--warmup 5] [--streams 1000] [--parts writes,heap]
 * </pre>
 */
public final class StackBench {

  static final String CDS = "type.googleapis.com/envoy.config.cluster.v3.Cluster";
  static final String EDS = "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment";
  static final String LDS = "type.googleapis.com/envoy.config.listener.v3.Listener";
  static final ObjectMapper JSON = new ObjectMapper();
  static final HttpClient HTTP =
      HttpClient.newBuilder().connectTimeout(java.time.Duration.ofSeconds(5)).build();

  static Map<String, String> o = new TreeMap<>();

  public static void main(String[] args) throws Exception {
    for (int i = 0; i + 1 < args.length; i += 2) {
      o.put(args[i].replaceFirst("^--", ""), args[i + 1]);
    }
    int services = Integer.parseInt(o.getOrDefault("services", "1000"));
    int clients = Integer.parseInt(o.getOrDefault("clients", "100"));
    // 20 unmeasured writes first: the JIT and the collectors' start-up cycles settle, and the
    // 60 measured ones show the steady state a long-running control plane is in
    int writes = Integer.parseInt(o.getOrDefault("writes", "80"));
    int warmup = Integer.parseInt(o.getOrDefault("warmup", "20"));
    int streams = Integer.parseInt(o.getOrDefault("streams", "1000"));
    List<String> parts = List.of(o.getOrDefault("parts", "writes,heap").split(","));
    String base = "http://127.0.0.1:" + o.get("api");
    int xdsPort = Integer.parseInt(o.get("xds"));
    long xdsPid = Long.parseLong(o.get("xds-pid"));

    Api api = Api.login(base, "admin", o.get("password"));
    api.send("PUT", "/api/v1/license", JSON.createObjectNode().put("key", o.get("license")), null);
    String cluster =
        api.send("POST", "/api/v1/clusters", JSON.createObjectNode().put("name", "bench"), null)
            .get("id")
            .asText();
    String key =
        api.send(
                "POST",
                "/api/v1/clusters/" + cluster + "/keys",
                JSON.createObjectNode().put("name", "bench"),
                null)
            .get("key")
            .asText();

    // Services, created through the API by 8 concurrent writers.
    long t0 = System.nanoTime();
    String[] ids = new String[services];
    ExecutorService writers = Executors.newFixedThreadPool(8);
    try {
      List<Future<?>> fs = new ArrayList<>();
      for (int i = 0; i < services; i++) {
        int n = i;
        fs.add(
            writers.submit(
                () -> {
                  ids[n] =
                      api.send(
                              "POST",
                              "/api/v1/clusters/" + cluster + "/services",
                              service(n, 8080),
                              null)
                          .get("service")
                          .get("id")
                          .asText();
                  return null;
                }));
      }
      for (Future<?> f : fs) {
        f.get();
      }
    } finally {
      writers.shutdownNow();
    }
    System.out.printf(
        "# created %d services in %.1f s%n", services, (System.nanoTime() - t0) / 1e9);

    // Proxies (kind envoy), registered with the cluster key.
    int proxies = Math.max(parts.contains("heap") ? streams : 0, clients);
    List<String> proxyIds = Collections.synchronizedList(new ArrayList<>());
    t0 = System.nanoTime();
    ExecutorService registrars = Executors.newFixedThreadPool(8);
    try {
      List<Future<?>> fs = new ArrayList<>();
      for (int i = 0; i < proxies; i++) {
        int n = i;
        fs.add(
            registrars.submit(
                () -> {
                  ObjectNode body =
                      JSON.createObjectNode()
                          .put("name", "bench-" + n)
                          .put("kind", "envoy")
                          .put("hostname", "bench-" + n + ".test")
                          .put("region", "local")
                          .put("zone", "local-a")
                          .put("version", "bench");
                  return api.anonymous().send("POST", "/api/v1/proxies/register", body, key);
                }));
      }
      for (Future<?> f : fs) {
        proxyIds.add(((JsonNode) f.get()).get("id").asText());
      }
    } finally {
      registrars.shutdownNow();
    }
    System.out.printf(
        "# registered %d proxies in %.1f s%n", proxies, (System.nanoTime() - t0) / 1e9);

    // The heap with the cluster's config loaded and no stream open: the baseline.
    Thread.sleep(3000);
    Heap idle = Heap.of(xdsPid);
    System.out.printf("# xds-service heap after full GC, no streams: %s%n", idle);

    if (parts.contains("writes")) {
      writeToAck(api, cluster, ids, key, xdsPort, proxyIds.subList(0, clients), writes, warmup);
    }
    if (parts.contains("heap")) {
      heap(key, xdsPort, proxyIds.subList(0, streams), xdsPid, idle);
    }
  }

  static ObjectNode service(int n, int port) {
    ObjectNode s = JSON.createObjectNode();
    s.put("name", String.format("svc-%04d", n));
    s.put("protocol", "http");
    s.put("lbPolicy", "round_robin");
    ArrayNode eps = s.putArray("endpoints");
    for (int e = 0; e < 2; e++) {
      eps.addObject()
          .put("host", "10." + e + "." + (n / 250) + "." + (n % 250 + 1))
          .put("port", port)
          .put("region", "eu-west-1")
          .put("zone", "eu-west-1" + "ab".charAt(e));
    }
    return s;
  }

  // ---------------------------------------------------------------------------------------------
  // REST write → ACK

  static void writeToAck(
      Api api,
      String cluster,
      String[] ids,
      String key,
      int xdsPort,
      List<String> proxyIds,
      int writes,
      int warmup)
      throws Exception {
    int m = proxyIds.size();
    List<ManagedChannel> channels = new ArrayList<>();
    List<Ads> clients = new ArrayList<>();
    try {
      for (int i = 0; i < m; i++) {
        ManagedChannel ch = channel(xdsPort);
        channels.add(ch);
        Ads c = new Ads(ch, key, proxyIds.get(i), i == 0);
        c.slot = i;
        clients.add(c);
      }
      for (Ads c : clients) {
        c.awaitInitial(120);
      }
      System.out.printf(
          "# %d ADS clients hold %d clusters and %d endpoint assignments%n",
          m, clients.get(0).counts.get(CDS), clients.get(0).counts.get(EDS));
      Map<Double, Double> promBefore = null;
      double[] lastPerWrite = new double[writes - warmup];
      double[] firstPerWrite = new double[writes - warmup];
      double[] putPerWrite = new double[writes - warmup];
      List<double[]> perClient = new ArrayList<>(); // [write][client]
      double[] all = new double[(writes - warmup) * m];
      int cdsChanges = 0;
      for (int w = 0; w < writes; w++) {
        int svc = (w * 37) % ids.length;
        int port = 9000 + w;
        if (w == warmup) {
          Thread.sleep(1500);
          promBefore = propagationBuckets();
        }
        String before = clients.get(0).version(EDS);
        String beforeCds = clients.get(0).version(CDS);
        Watch watch = new Watch(m, before);
        clients.forEach(c -> c.watch = watch);
        long start = System.nanoTime();
        api.send(
            "PUT", "/api/v1/clusters/" + cluster + "/services/" + ids[svc], service(svc, port), null);
        long putDone = System.nanoTime();
        if (!watch.done.await(60, TimeUnit.SECONDS)) {
          throw new IllegalStateException(
              "write " + w + ": only " + (m - watch.done.getCount()) + " of " + m + " ACKed in 60 s");
        }
        clients.forEach(c -> c.watch = null);
        // the full-parsing client checks the new endpoint port is really in what it ACKed
        ClusterLoadAssignment cla = clients.get(0).assignment(String.format("svc-%04d", svc));
        if (cla == null
            || cla.getEndpoints(0).getLbEndpoints(0).getEndpoint().getAddress().getSocketAddress().getPortValue()
                != port) {
          throw new IllegalStateException("write " + w + ": client 0 ACKed without the new port: " + cla);
        }
        if (!beforeCds.equals(clients.get(0).version(CDS))) {
          cdsChanges++;
        }
        if (w >= warmup) {
          int k = w - warmup;
          double[] lat = new double[m];
          double last = 0;
          for (int i = 0; i < m; i++) {
            lat[i] = (watch.ackedAt[i] - start) / 1e6;
            last = Math.max(last, lat[i]);
            all[k * m + i] = lat[i];
          }
          perClient.add(lat);
          lastPerWrite[k] = last;
          firstPerWrite[k] = Arrays.stream(lat).min().getAsDouble();
          putPerWrite[k] = (putDone - start) / 1e6;
        }
        System.out.printf(
            "  write %2d%s svc-%04d port %d: PUT %.1f ms, first ACK %.1f ms, last ACK %.1f ms%n",
            w,
            w < warmup ? " (warm-up)" : "",
            svc,
            port,
            (putDone - start) / 1e6,
            (Arrays.stream(watch.ackedAt).min().getAsLong() - start) / 1e6,
            (Arrays.stream(watch.ackedAt).max().getAsLong() - start) / 1e6);
        Thread.sleep(250);
      }
      Thread.sleep(1500);
      Map<Double, Double> promAfter = propagationBuckets();

      int n = writes - warmup;
      double[] clientP50 = new double[m];
      double[] clientP99 = new double[m];
      for (int i = 0; i < m; i++) {
        double[] xs = new double[n];
        for (int k = 0; k < n; k++) {
          xs[k] = perClient.get(k)[i];
        }
        clientP50[i] = pct(xs, 50);
        clientP99[i] = pct(xs, 99);
      }
      System.out.println();
      System.out.printf(
          "REST write → client ACK of the new EDS version, %d services × %d clients, %d writes (after %d warm-up), %d samples%n",
          ids.length, m, n, warmup, all.length);
      System.out.println();
      System.out.println("| measure | p50 | p90 | p99 | max |");
      System.out.println("|---|---:|---:|---:|---:|");
      row("every (write, client) ACK", all);
      row("first client's ACK per write (pipeline + one send)", firstPerWrite);
      row("last client's ACK per write", lastPerWrite);
      row("PUT response (commit included)", putPerWrite);
      row("per-client p50 (spread over the clients)", clientP50);
      row("per-client p99 (spread over the clients)", clientP99);
      System.out.println();
      System.out.printf(
          "CDS version changed on %d of %d writes (endpoint-only changes); each EDS response carried %d assignments, %,d bytes%n",
          cdsChanges, writes, clients.get(0).counts.get(EDS), clients.get(0).lastEdsBytes);
      System.out.println("xds_propagation (xds-service: commit → ACK of every type), over the measured window:");
      System.out.println("  " + histogramSummary(promBefore, promAfter));
    } finally {
      for (Ads c : clients) {
        c.close();
      }
      for (ManagedChannel ch : channels) {
        ch.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
    }
  }

  static void row(String name, double[] xs) {
    System.out.printf(
        "| %s | %.1f ms | %.1f ms | %.1f ms | %.1f ms |%n",
        name, pct(xs, 50), pct(xs, 90), pct(xs, 99), pct(xs, 100));
  }

  static double pct(double[] xs, double p) {
    double[] s = xs.clone();
    Arrays.sort(s);
    int i = (int) Math.ceil(p / 100.0 * s.length) - 1;
    return s[Math.max(0, Math.min(s.length - 1, i))];
  }

  /** One write: each client's ACK time of the first EDS response with a new version. */
  static final class Watch {
    final String before;
    final long[] ackedAt;
    final CountDownLatch done;

    Watch(int m, String before) {
      this.before = before;
      ackedAt = new long[m];
      done = new CountDownLatch(m);
    }

    synchronized void acked(int client, String version, long at) {
      if (ackedAt[client] == 0 && !version.equals(before)) {
        ackedAt[client] = at;
        done.countDown();
      }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Heap with many streams

  static void heap(String key, int xdsPort, List<String> proxyIds, long xdsPid, Heap idle)
      throws Exception {
    int h = proxyIds.size();
    int perChannel = 100;
    List<ManagedChannel> channels = new ArrayList<>();
    List<Ads> clients = new ArrayList<>();
    try {
      long t0 = System.nanoTime();
      for (int i = 0; i < h; i++) {
        if (i % perChannel == 0) {
          channels.add(channel(xdsPort));
        }
        clients.add(new Ads(channels.getLast(), key, proxyIds.get(i), false));
        if (i % 50 == 49) {
          Thread.sleep(20); // connect at a steady pace, like a fleet rolling out
        }
      }
      for (Ads c : clients) {
        c.awaitInitial(300);
      }
      System.out.printf(
          "# %d ADS streams over %d connections hold the config (%.1f s to connect and ACK)%n",
          h, channels.size(), (System.nanoTime() - t0) / 1e9);
      Thread.sleep(3000);
      Heap busy = Heap.of(xdsPid);
      System.out.println();
      System.out.println("| xds-service heap after a full GC | used | committed |");
      System.out.println("|---|---:|---:|");
      System.out.printf("| no ADS streams (config of the cluster loaded) | %s | %s |%n", mb(idle.used), mb(idle.committed));
      System.out.printf("| %d ADS streams (CDS + EDS + LDS each, all ACKed) | %s | %s |%n", h, mb(busy.used), mb(busy.committed));
      System.out.printf(
          "%nper stream: %.1f KB%n", (busy.used - idle.used) / 1024.0 / h);
      System.out.println("\nLargest classes on the xds-service heap with the streams open (GC.class_histogram):");
      List<String> histogram = jcmd(xdsPid, "GC.class_histogram").lines().toList();
      histogram.stream().skip(1).limit(14).forEach(l -> System.out.println("    " + l.strip()));
      histogram.stream().filter(l -> l.startsWith("Total")).forEach(l -> System.out.println("    " + l.strip()));
    } finally {
      for (Ads c : clients) {
        c.close();
      }
      for (ManagedChannel ch : channels) {
        ch.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
    }
  }

  static String mb(long bytes) {
    return String.format("%.1f MB", bytes / 1024.0 / 1024.0);
  }

  record Heap(long used, long committed, String raw) {
    static final Pattern GEN = Pattern.compile("(?m)^\\s*(\\S.*?)\\s+total (\\d+)K, used (\\d+)K");

    /** ZGC's one line: "ZHeap used 80M, capacity 1186M, max capacity 6028M". */
    static final Pattern ZHEAP = Pattern.compile("(?m)^\\s*ZHeap\\s+used (\\d+)M, capacity (\\d+)M");

    /** Full GC, then the heap as the JVM reports it (jcmd GC.heap_info). */
    static Heap of(long pid) throws Exception {
      jcmd(pid, "GC.run");
      String info = jcmd(pid, "GC.heap_info");
      long used = 0, committed = 0;
      Matcher m = GEN.matcher(info);
      while (m.find()) {
        if (!m.group(1).contains("Metaspace") && !m.group(1).contains("class space")) {
          committed += Long.parseLong(m.group(2)) * 1024;
          used += Long.parseLong(m.group(3)) * 1024;
        }
      }
      Matcher z = ZHEAP.matcher(info);
      if (used == 0 && z.find()) {
        used = Long.parseLong(z.group(1)) << 20;
        committed = Long.parseLong(z.group(2)) << 20;
      }
      if (used == 0) {
        throw new IllegalStateException("could not read GC.heap_info:\n" + info);
      }
      return new Heap(used, committed, info);
    }

    @Override
    public String toString() {
      return mb(used) + " used of " + mb(committed) + " committed";
    }
  }

  static String jcmd(long pid, String command) throws Exception {
    String jcmd = System.getProperty("java.home") + "/bin/jcmd";
    Process p = new ProcessBuilder(jcmd, String.valueOf(pid), command).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes());
    if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
      throw new IllegalStateException("jcmd " + pid + " " + command + " failed:\n" + out);
    }
    return out;
  }

  // ---------------------------------------------------------------------------------------------
  // ADS clients

  static ManagedChannel channel(int port) {
    return NettyChannelBuilder.forAddress("127.0.0.1", port)
        .usePlaintext()
        .maxInboundMessageSize(256 << 20)
        .build();
  }

  /**
   * Version, type, nonce, count, and the bytes when kept (CDS always: its cluster names are read
   * once per version; everything for the client that checks content). The response is read in
   * gRPC's received buffers, its resources skipped without a copy, so the clients cost as little of
   * the machine's CPU as they can.
   */
  record Light(String version, String typeUrl, String nonce, int resources, byte[] raw) {}

  static MethodDescriptor.Marshaller<Light> light(boolean keepAll) {
    return new MethodDescriptor.Marshaller<>() {
      @Override
      public InputStream stream(Light value) {
        throw new UnsupportedOperationException();
      }

      @Override
      public Light parse(InputStream stream) {
        try {
          List<ByteBuffer> parts = AdsWire.received(stream);
          CodedInputStream in = CodedInputStream.newInstance(parts);
          in.setSizeLimit(Integer.MAX_VALUE);
          String version = "", type = "", nonce = "";
          int resources = 0;
          while (true) {
            int tag = in.readTag();
            switch (tag >>> 3) {
              case 0 -> {
                byte[] raw = keepAll || type.equals(CDS) ? AdsWire.bytes(parts) : null;
                return new Light(version, type, nonce, resources, raw);
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
  }

  static final MethodDescriptor<AdsWire.Wire, Light> ADS = ads(false);
  static final MethodDescriptor<AdsWire.Wire, Light> ADS_KEEP = ads(true);

  static MethodDescriptor<AdsWire.Wire, Light> ads(boolean keepAll) {
    var m = AggregatedDiscoveryServiceGrpc.getStreamAggregatedResourcesMethod();
    return m.toBuilder(AdsWire.WIRE, light(keepAll)).build();
  }

  static final byte[] NO_NAMES = new byte[0];

  /** An Envoy-like ADS stream: CDS and LDS wildcard, EDS by name, node on every request. */
  static final class Ads implements StreamObserver<Light> {
    final Node node;
    final StreamObserver<AdsWire.Wire> out;
    final boolean verify;
    final Map<String, String> versions = new ConcurrentHashMap<>();
    final Map<String, Integer> counts = new ConcurrentHashMap<>();
    final CountDownLatch initial = new CountDownLatch(2); // CDS and EDS
    final List<String> edsNames = new ArrayList<>();
    byte[] edsNamesWire = NO_NAMES; // field 3 of edsNames, encoded once
    volatile Watch watch;
    volatile DiscoveryResponse lastEds;
    volatile int lastEdsBytes;
    volatile Throwable error;

    Ads(ManagedChannel channel, String key, String proxyId, boolean verify) {
      this.verify = verify;
      node = Node.newBuilder().setId(proxyId).setCluster("bench").build();
      Metadata md = new Metadata();
      md.put(Metadata.Key.of("x-cluster-key", Metadata.ASCII_STRING_MARSHALLER), key);
      Channel ch = ClientInterceptors.intercept(channel, MetadataUtils.newAttachHeadersInterceptor(md));
      out =
          ClientCalls.asyncBidiStreamingCall(
              ch.newCall(verify ? ADS_KEEP : ADS, CallOptions.DEFAULT), this);
      synchronized (this) {
        out.onNext(
            AdsWire.Wire.of(DiscoveryRequest.newBuilder().setNode(node).setTypeUrl(CDS).build(), NO_NAMES));
        out.onNext(
            AdsWire.Wire.of(DiscoveryRequest.newBuilder().setNode(node).setTypeUrl(LDS).build(), NO_NAMES));
      }
    }

    /** This client's index in a write watch (-1: not watched). */
    volatile int slot = -1;

    @Override
    public void onNext(Light r) {
      String type = r.typeUrl();
      var ack =
          DiscoveryRequest.newBuilder()
              .setNode(node)
              .setTypeUrl(type)
              .setVersionInfo(r.version())
              .setResponseNonce(r.nonce());
      boolean subscribeEds = false;
      synchronized (this) {
        if (type.equals(CDS) && edsNames.isEmpty()) {
          // like Envoy: EDS for the clusters CDS named (here: the services' cluster names)
          subscribeEds = true;
        }
        out.onNext(AdsWire.Wire.of(ack.build(), type.equals(EDS) ? edsNamesWire : NO_NAMES));
        long at = System.nanoTime();
        versions.put(type, r.version());
        counts.put(type, r.resources());
        if (verify && type.equals(EDS)) {
          try {
            lastEds = DiscoveryResponse.parseFrom(r.raw());
            lastEdsBytes = r.raw().length;
          } catch (IOException e) {
            throw new UncheckedIOException(e);
          }
        }
        Watch w = watch;
        if (w != null && type.equals(EDS) && slot >= 0) {
          w.acked(slot, r.version(), at);
        }
        if (subscribeEds) {
          edsNames.addAll(clusterNames(r));
          edsNamesWire =
              DiscoveryRequest.newBuilder().addAllResourceNames(edsNames).build().toByteArray();
          out.onNext(
              AdsWire.Wire.of(
                  DiscoveryRequest.newBuilder().setNode(node).setTypeUrl(EDS).build(),
                  edsNamesWire));
          initial.countDown();
        } else if (type.equals(EDS) && initial.getCount() == 1) {
          initial.countDown();
        }
      }
    }

    /** The EDS names a CDS response's clusters ask for (decoded once per version, shared). */
    private static List<String> clusterNames(Light r) {
      return cdsNames.computeIfAbsent(
          r.version(),
          v -> {
            try {
              List<String> names = new ArrayList<>();
              for (var any : DiscoveryResponse.parseFrom(r.raw()).getResourcesList()) {
                var c = any.unpack(io.envoyproxy.envoy.config.cluster.v3.Cluster.class);
                String service = c.getEdsClusterConfig().getServiceName();
                names.add(service.isEmpty() ? c.getName() : service);
              }
              return names;
            } catch (IOException e) {
              throw new UncheckedIOException(e);
            }
          });
    }

    String version(String type) {
      return versions.getOrDefault(type, "");
    }

    ClusterLoadAssignment assignment(String name) throws IOException {
      for (var any : lastEds.getResourcesList()) {
        ClusterLoadAssignment cla = any.unpack(ClusterLoadAssignment.class);
        if (cla.getClusterName().contains(name)) {
          return cla;
        }
      }
      return null;
    }

    void awaitInitial(int seconds) throws InterruptedException {
      if (!initial.await(seconds, TimeUnit.SECONDS)) {
        throw new IllegalStateException(
            "ADS client " + node.getId() + " got no CDS+EDS in " + seconds + " s: " + error);
      }
    }

    @Override
    public void onError(Throwable t) {
      error = t;
    }

    @Override
    public void onCompleted() {}

    void close() {
      try {
        synchronized (this) {
          out.onCompleted();
        }
      } catch (RuntimeException ignored) {
        // stream already gone
      }
    }
  }

  static final Map<String, List<String>> cdsNames = new ConcurrentHashMap<>();

  // ---------------------------------------------------------------------------------------------
  // xds-service's own view: the xds_propagation histogram on /metrics

  static final Pattern BUCKET =
      Pattern.compile("(?m)^xds_propagation_seconds_bucket\\{[^}]*le=\"([^\"]+)\"[^}]*\\} (\\S+)");

  static Map<Double, Double> propagationBuckets() throws Exception {
    String body =
        HTTP.send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + o.get("xds-http") + "/metrics"))
                    .build(),
                HttpResponse.BodyHandlers.ofString())
            .body();
    Map<Double, Double> b = new TreeMap<>();
    Matcher m = BUCKET.matcher(body);
    while (m.find()) {
      double le = m.group(1).equals("+Inf") ? Double.POSITIVE_INFINITY : Double.parseDouble(m.group(1));
      b.merge(le, Double.parseDouble(m.group(2)), Double::sum);
    }
    return b;
  }

  static String histogramSummary(Map<Double, Double> before, Map<Double, Double> after) {
    if (after.isEmpty()) {
      return "(no xds_propagation_seconds_bucket on /metrics)";
    }
    List<Double> les = new ArrayList<>(after.keySet());
    double total = after.get(Double.POSITIVE_INFINITY) - before.getOrDefault(Double.POSITIVE_INFINITY, 0.0);
    StringBuilder out = new StringBuilder(String.format("%.0f observations", total));
    for (double p : new double[] {50, 90, 99}) {
      for (double le : les) {
        double c = after.get(le) - before.getOrDefault(le, 0.0);
        if (c >= p / 100 * total) {
          out.append(String.format(", p%.0f ≤ %s", p, Double.isInfinite(le) ? "+Inf" : String.format("%.0f ms", le * 1000)));
          break;
        }
      }
    }
    return out + " (bucket upper bounds)";
  }

  // ---------------------------------------------------------------------------------------------

  static final class Api {
    final String base;
    final String token;

    Api(String base, String token) {
      this.base = base;
      this.token = token;
    }

    static Api login(String base, String user, String password) throws Exception {
      JsonNode t =
          new Api(base, null)
              .send(
                  "POST",
                  "/api/v1/auth/login",
                  JSON.createObjectNode().put("username", user).put("password", password),
                  null);
      return new Api(base, t.get("accessToken").asText());
    }

    Api anonymous() {
      return new Api(base, null);
    }

    JsonNode send(String method, String path, Object body, String clusterKey) throws Exception {
      var b =
          HttpRequest.newBuilder(URI.create(base + path))
              .timeout(java.time.Duration.ofSeconds(60))
              .header("Content-Type", "application/json")
              .method(
                  method,
                  body == null
                      ? HttpRequest.BodyPublishers.noBody()
                      : HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(body)));
      if (token != null) {
        b.header("Authorization", "Bearer " + token);
      }
      if (clusterKey != null) {
        b.header("X-Cluster-Key", clusterKey);
      }
      HttpResponse<String> r = HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
      if (r.statusCode() >= 400) {
        throw new IllegalStateException(method + " " + path + " -> " + r.statusCode() + ": " + r.body());
      }
      return r.body().isEmpty() ? JSON.nullNode() : JSON.readTree(r.body());
    }
  }
}
