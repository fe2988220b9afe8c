// Per-request cost of MarchProxy's WASM filters in the JVM proxy-wasm host (Chicory), compiled
// and interpreted, next to the same HS256 check done in plain Java (javax.crypto) as the peer.
// Run through bench/wasm/run.sh, which builds the module and sets the classpath.

import io.marchproxy.wasm.FilterHost;
import io.marchproxy.wasm.FilterHost.Filter;
import io.marchproxy.wasm.FilterHost.Request;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.function.Supplier;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

public class FilterBench {
  static final byte[] KEY = "bench-hs256-key-at-least-32-bytes-long!!".getBytes(StandardCharsets.UTF_8);
  static final String SERVICE_TOKEN = "mpt_bench_0123456789abcdef0123456789abcdef";
  static final int ROUNDS = 9;
  static final long WARM_NANOS = 8_000_000_000L;

  record Result(String scenario, double medianNanos, double minNanos, double medianCpuNanos) {}

  static final java.lang.management.ThreadMXBean THREADS =
      java.lang.management.ManagementFactory.getThreadMXBean();

  public static void main(String[] args) throws Exception {
    int iterations = args.length > 0 ? Integer.parseInt(args[0]) : 20_000;
    // Optional: only the scenarios whose name contains this text (bench/wasm/profile.sh uses it).
    String only = args.length > 1 ? args[1] : "";
    String jwt = jwt("jti-bench");
    String authConfig = authConfig();
    String licenseConfig =
        "{\"edition\":\"business\",\"features\":[\"sso\"],\"rules\":[{\"path_prefix\":\"/admin/sso\",\"feature\":\"sso\"},{\"path_prefix\":\"/waf\",\"feature\":\"waf\"}]}";
    String metricsConfig = "{\"routes\":[{\"name\":\"orders\",\"path_prefix\":\"/orders\"}]}";

    String loadBefore = loadAverage();
    var results = new ArrayList<Result>();
    try (var auth = FilterHost.start(Filter.AUTH, authConfig);
        var authInterpreted = FilterHost.start(Filter.AUTH, authConfig, false);
        var license = FilterHost.start(Filter.LICENSE, licenseConfig);
        var metrics = FilterHost.start(Filter.METRICS, metricsConfig)) {
      var withJwt = Request.get("/orders/42").withHeader("authorization", "Bearer " + jwt);
      var withToken = Request.get("/orders/42").withHeader("authorization", "Bearer " + SERVICE_TOKEN);
      // 4,096 distinct tokens (a jti each) taken in turn: far more than the filter's cache of
      // accepted JWTs holds (64), so every request pays the full verification.
      var distinct = new Request[4096];
      for (int i = 0; i < distinct.length; i++) {
        distinct[i] = Request.get("/orders/42").withHeader("authorization", "Bearer " + jwt("jti-" + i));
      }
      var next = new int[1];
      expect(auth.send(withJwt).status(), 200);
      expect(auth.send(withToken).status(), 200);
      expect(license.send(Request.get("/waf/rules")).status(), 402);

      var scenarios =
          List.of(
              new Scenario("auth, HS256 JWT accepted, same token again (compiled)", iterations, () -> auth.send(withJwt)),
              new Scenario(
                  "auth, HS256 JWT accepted, every token new (compiled)",
                  iterations,
                  () -> auth.send(distinct[next[0]++ & (distinct.length - 1)])),
              new Scenario("auth, static token accepted (compiled)", iterations, () -> auth.send(withToken)),
              new Scenario("auth, no token -> 401 (compiled)", iterations, () -> auth.send(Request.get("/orders/42"))),
              new Scenario("auth, HS256 JWT accepted (interpreted)", Math.max(1, iterations / 50), () -> authInterpreted.send(withJwt)),
              new Scenario("license, ungated path (compiled)", iterations, () -> license.send(Request.get("/orders/42"))),
              new Scenario("license, unlicensed -> 402 (compiled)", iterations, () -> license.send(Request.get("/waf/rules"))),
              new Scenario("metrics, GET with route (compiled)", iterations, () -> metrics.send(Request.get("/orders/42"))),
              new Scenario("peer: HS256 JWT check in plain Java (javax.crypto)", iterations, () -> javaVerify(jwt)))
          .stream()
          .filter(s -> s.name().contains(only))
          .toList();
      // Warm every path first (at least WARM_NANOS each: on a loaded 2-core machine C2 needs tens
      // of seconds for the larger wasm functions), then measure round-robin so machine noise hits
      // all scenarios alike.
      for (var scenario : scenarios) {
        long warmStart = System.nanoTime();
        for (int r = 0; r < 2 || System.nanoTime() - warmStart < WARM_NANOS; r++) {
          scenario.round();
        }
      }
      // Wall time per request, and the benchmark thread's CPU time per request: on a shared VM
      // the second is far less disturbed by other tenants (time slices taken away do not count).
      double[][] perRequest = new double[scenarios.size()][ROUNDS];
      double[][] cpuPerRequest = new double[scenarios.size()][ROUNDS];
      for (int round = 0; round < ROUNDS; round++) {
        for (int i = 0; i < scenarios.size(); i++) {
          long cpuStart = THREADS.getCurrentThreadCpuTime();
          perRequest[i][round] = scenarios.get(i).round();
          cpuPerRequest[i][round] =
              (THREADS.getCurrentThreadCpuTime() - cpuStart) / (double) scenarios.get(i).iterations();
        }
      }
      for (int i = 0; i < scenarios.size(); i++) {
        Arrays.sort(perRequest[i]);
        Arrays.sort(cpuPerRequest[i]);
        results.add(
            new Result(
                scenarios.get(i).name(),
                perRequest[i][ROUNDS / 2],
                perRequest[i][0],
                cpuPerRequest[i][ROUNDS / 2]));
      }
    }

    System.out.printf(
        "%nload average (1/5/15 min) before: %s, after: %s; %d CPUs%n",
        loadBefore, loadAverage(), Runtime.getRuntime().availableProcessors());
    System.out.printf(
        "%n| scenario | median µs/request | best µs/request | median CPU µs/request |%n|---|---:|---:|---:|%n");
    for (var r : results) {
      System.out.printf(
          "| %s | %.2f | %.2f | %.2f |%n",
          r.scenario(), r.medianNanos() / 1000, r.minNanos() / 1000, r.medianCpuNanos() / 1000);
    }
    System.out.printf("%n| filter | .wasm bytes |%n|---|---:|%n");
    for (var filter : Filter.values()) {
      System.out.printf("| %s | %d |%n", filter.name().toLowerCase(), FilterHost.size(filter));
    }
  }

  static String loadAverage() {
    try {
      String[] fields = java.nio.file.Files.readString(java.nio.file.Path.of("/proc/loadavg")).split(" ");
      return fields[0] + " " + fields[1] + " " + fields[2];
    } catch (java.io.IOException e) {
      return "unknown";
    }
  }

  static void expect(int actual, int expected) {
    if (actual != expected) {
      throw new IllegalStateException("expected " + expected + ", got " + actual);
    }
  }

  record Scenario(String name, int iterations, Supplier<?> request) {
    /** One timed round; returns ns per request. */
    double round() {
      long start = System.nanoTime();
      for (int i = 0; i < iterations; i++) {
        request.get();
      }
      return (System.nanoTime() - start) / (double) iterations;
    }
  }

  static String jwt(String id) {
    var url = Base64.getUrlEncoder().withoutPadding();
    String header = url.encodeToString("{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"k1\"}".getBytes(StandardCharsets.UTF_8));
    String claims =
        url.encodeToString(
            ("{\"sub\":\"alice\",\"jti\":\"" + id + "\",\"iss\":\"https://id.example\",\"aud\":\"orders-api\",\"exp\":"
                    + (Instant.now().getEpochSecond() + 86_400)
                    + "}")
                .getBytes(StandardCharsets.UTF_8));
    String input = header + "." + claims;
    return input + "." + url.encodeToString(hmac(input));
  }

  static byte[] hmac(String input) {
    try {
      var mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(KEY, "HmacSHA256"));
      return mac.doFinal(input.getBytes(StandardCharsets.UTF_8));
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  /** The peer: signature check and claim parsing of the same token in plain Java. */
  static boolean javaVerify(String token) {
    int last = token.lastIndexOf('.');
    byte[] expected = hmac(token.substring(0, last));
    byte[] given = Base64.getUrlDecoder().decode(token.substring(last + 1));
    String claims = new String(Base64.getUrlDecoder().decode(token.substring(token.indexOf('.') + 1, last)), StandardCharsets.UTF_8);
    return MessageDigest.isEqual(expected, given) && claims.contains("\"exp\"");
  }

  static String authConfig() throws Exception {
    String hash = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(SERVICE_TOKEN.getBytes(StandardCharsets.UTF_8)));
    return "{\"jwt\":{\"keys\":[{\"id\":\"k1\",\"algorithm\":\"HS256\",\"secret_base64\":\""
        + Base64.getEncoder().encodeToString(KEY)
        + "\"}],\"issuer\":\"https://id.example\",\"audiences\":[\"orders-api\"]},"
        + "\"static_tokens\":[{\"name\":\"bench\",\"sha256\":\"" + hash + "\"}]}";
  }
}
