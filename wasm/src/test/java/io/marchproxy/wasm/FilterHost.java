package io.marchproxy.wasm;

import com.dylibso.chicory.compiler.MachineFactoryCompiler;
import com.dylibso.chicory.runtime.Instance;
import com.dylibso.chicory.runtime.Machine;
import com.dylibso.chicory.wasm.Parser;
import com.dylibso.chicory.wasm.WasmModule;
import io.roastedroot.proxywasm.LogHandler;
import io.roastedroot.proxywasm.LogLevel;
import io.roastedroot.proxywasm.MetricType;
import io.roastedroot.proxywasm.MetricsHandler;
import io.roastedroot.proxywasm.PluginFactory;
import io.roastedroot.proxywasm.StartException;
import io.roastedroot.proxywasm.WasmException;
import io.roastedroot.proxywasm.internal.ArrayProxyMap;
import io.roastedroot.proxywasm.internal.HttpRequestAdaptor;
import io.roastedroot.proxywasm.internal.HttpResponseBody;
import io.roastedroot.proxywasm.internal.Plugin;
import io.roastedroot.proxywasm.internal.PluginHttpContext;
import io.roastedroot.proxywasm.internal.ProxyMap;
import io.roastedroot.proxywasm.internal.SendResponse;
import io.roastedroot.proxywasm.internal.WasmResult;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;

/**
 * One built filter (the real {@code .wasm} from {@code target/classes/wasm/}) running in the real
 * proxy-wasm host on the JVM (io.roastedroot:proxy-wasm-java-host, Chicory, compiled to JVM
 * bytecode). This is the only class that touches the host's {@code internal} package, which a
 * request needs in host version 0.0.5; the tests speak in requests and responses.
 */
public final class FilterHost implements AutoCloseable {

  /** The filters this module builds, by the file name they ship under. */
  public enum Filter {
    AUTH("auth"),
    LICENSE("license"),
    METRICS("metrics");

    final String fileName;

    Filter(String fileName) {
      this.fileName = fileName;
    }

    public String resource() {
      return "/wasm/" + fileName + ".wasm";
    }
  }

  /** A request as the proxy would present it to the filter. */
  public record Request(
      String method,
      String path,
      Map<String, String> headers,
      Map<List<String>, byte[]> properties,
      Response upstream) {

    public static Request get(String path) {
      return new Request("GET", path, Map.of(), Map.of(), Response.ok());
    }

    public Request withHeader(String name, String value) {
      var copy = new LinkedHashMap<>(headers);
      copy.put(name, value);
      return new Request(method, path, copy, properties, upstream);
    }

    public Request withMethod(String newMethod) {
      return new Request(newMethod, path, headers, properties, upstream);
    }

    public Request withProperty(List<String> name, String value) {
      var copy = new LinkedHashMap<>(properties);
      copy.put(name, value.getBytes(StandardCharsets.UTF_8));
      return new Request(method, path, headers, copy, upstream);
    }

    public Request withUpstream(Response response) {
      return new Request(method, path, headers, properties, response);
    }
  }

  /** What the upstream answers when the filter lets the request through. */
  public record Response(int status, Map<String, String> headers, byte[] body) {
    public static Response ok() {
      return new Response(200, Map.of(), new byte[0]);
    }

    public static Response status(int status) {
      return new Response(status, Map.of(), new byte[0]);
    }
  }

  /**
   * What the client saw. {@code forwarded} says whether the request reached upstream; then {@code
   * upstreamRequestHeaders} is what upstream received.
   */
  public record Exchange(
      boolean forwarded,
      int status,
      Map<String, String> responseHeaders,
      String body,
      Map<String, String> upstreamRequestHeaders) {}

  /** A log line the filter wrote through {@code proxy_log}. */
  public record LogLine(LogLevel level, String message) {}

  private static final Map<Filter, WasmModule> MODULES = new ConcurrentHashMap<>();
  private static final Map<Filter, Function<Instance, Machine>> COMPILED =
      new ConcurrentHashMap<>();

  private final Plugin plugin;
  private final Instance instance;
  private final List<LogLine> logs;
  private final RecordedMetrics metrics;

  private FilterHost(
      Plugin plugin, Instance instance, List<LogLine> logs, RecordedMetrics metrics) {
    this.plugin = plugin;
    this.instance = instance;
    this.logs = logs;
    this.metrics = metrics;
  }

  /** The parsed module; parsed once per JVM. */
  public static WasmModule module(Filter filter) {
    return MODULES.computeIfAbsent(
        filter,
        f -> {
          try (InputStream in = FilterHost.class.getResourceAsStream(f.resource())) {
            if (in == null) {
              throw new IllegalStateException(f.resource() + " is not built (run the Maven build)");
            }
            return Parser.parse(in);
          } catch (IOException e) {
            throw new UncheckedIOException(e);
          }
        });
  }

  /** Size in bytes of the built {@code .wasm}. */
  public static long size(Filter filter) {
    try (InputStream in = FilterHost.class.getResourceAsStream(filter.resource())) {
      return in.readAllBytes().length;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * Starts the filter with a plugin configuration (the JSON xds-service sends). The module is
   * compiled to JVM bytecode once per JVM and shared by every host started from it.
   *
   * @throws StartException when the filter rejects the configuration
   */
  public static FilterHost start(Filter filter, String pluginConfiguration) throws StartException {
    return start(filter, pluginConfiguration, true);
  }

  /**
   * As {@link #start(Filter, String)}; {@code compiled = false} runs Chicory's interpreter instead
   * (the benchmark compares the two).
   */
  public static FilterHost start(Filter filter, String pluginConfiguration, boolean compiled)
      throws StartException {
    Function<Instance, Machine> machines =
        compiled
            ? COMPILED.computeIfAbsent(filter, f -> MachineFactoryCompiler.compile(module(f)))
            : com.dylibso.chicory.runtime.InterpreterMachine::new;
    var logs = Collections.synchronizedList(new ArrayList<LogLine>());
    var metrics = new RecordedMetrics();
    var created = new Instance[1];
    Function<Instance, Machine> capturing =
        instance -> {
          created[0] = instance;
          return machines.apply(instance);
        };
    var factory =
        PluginFactory.builder(module(filter))
            .withName(filter.fileName)
            .withPluginConfig(pluginConfiguration)
            .withLogger(
                new LogHandler() {
                  @Override
                  public void log(LogLevel level, String message) {
                    logs.add(new LogLine(level, message));
                  }

                  @Override
                  public LogLevel getLogLevel() {
                    return LogLevel.TRACE;
                  }
                })
            .withMetricsHandler(metrics)
            .withMachineFactory(capturing)
            .build();
    try {
      var plugin = (Plugin) factory.create();
      return new FilterHost(plugin, created[0], logs, metrics);
    } catch (StartException e) {
      // The filter says why it refused the configuration in its log: keep that with the failure.
      logs.forEach(line -> System.err.println(filter.fileName + ": " + line.message()));
      throw e;
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  /** Runs one request through the filter, and the upstream response back when it is forwarded. */
  public Exchange send(Request request) {
    var requestHeaders = new ArrayProxyMap();
    requestHeaders.add(":method", request.method());
    requestHeaders.add(":path", request.path());
    requestHeaders.add(":authority", "orders.example.com");
    requestHeaders.add(":scheme", "https");
    request.headers().forEach(requestHeaders::add);
    var responseHeaders = new ArrayProxyMap();
    var adaptor = new Adaptor(requestHeaders, responseHeaders, request.properties());

    plugin.lock();
    try {
      PluginHttpContext http = plugin.createHttpContext(adaptor);
      http.context().callOnRequestHeaders(true);
      SendResponse local = http.consumeSentHttpResponse();
      if (local != null) {
        http.context().close();
        return new Exchange(
            false,
            local.statusCode(),
            toMap(local.headers()),
            local.body() == null ? "" : new String(local.body(), StandardCharsets.UTF_8),
            Map.of());
      }
      var upstreamSaw = toMap(requestHeaders);
      Response upstream = request.upstream();
      responseHeaders.add(":status", Integer.toString(upstream.status()));
      upstream.headers().forEach(responseHeaders::add);
      http.context().callOnResponseHeaders(upstream.body().length == 0);
      if (upstream.body().length > 0) {
        http.setHttpResponseBodyState(new HttpResponseBody(upstream.body()));
        http.context().callOnResponseBody(true);
      }
      http.context().close();
      return new Exchange(
          true,
          upstream.status(),
          toMap(responseHeaders),
          new String(upstream.body(), StandardCharsets.UTF_8),
          upstreamSaw);
    } finally {
      plugin.unlock();
    }
  }

  /**
   * Calls the auth module's {@code marchproxy_selftest_hmac} export: HMAC-SHA-{bits} of {@code
   * message} under {@code key}, computed inside the wasm module.
   */
  public byte[] selftestHmac(int bits, byte[] key, byte[] message) {
    plugin.lock();
    try {
      var allocate = instance.export("proxy_on_memory_allocate");
      var memory = instance.memory();
      int keyAt = (int) allocate.apply(Math.max(1, key.length))[0];
      int messageAt = (int) allocate.apply(Math.max(1, message.length))[0];
      int outAt = (int) allocate.apply(64)[0];
      memory.write(keyAt, key);
      memory.write(messageAt, message);
      long length =
          instance.export("marchproxy_selftest_hmac")
              .apply(bits, keyAt, key.length, messageAt, message.length, outAt)[0];
      return memory.readBytes(outAt, (int) length);
    } finally {
      plugin.unlock();
    }
  }

  public List<LogLine> logs() {
    synchronized (logs) {
      return List.copyOf(logs);
    }
  }

  public RecordedMetrics metrics() {
    return metrics;
  }

  @Override
  public void close() {
    plugin.close();
  }

  private static Map<String, String> toMap(ProxyMap map) {
    var out = new LinkedHashMap<String, String>();
    if (map != null) {
      for (var entry : map.entries()) {
        out.merge(entry.getKey(), entry.getValue(), (a, b) -> a + "," + b);
      }
    }
    return out;
  }

  /** The proxy side of one stream: its header maps and the properties the host knows. */
  private record Adaptor(
      ProxyMap requestHeaders, ProxyMap responseHeaders, Map<List<String>, byte[]> properties)
      implements HttpRequestAdaptor {

    @Override
    public String remoteAddress() {
      return "203.0.113.7";
    }

    @Override
    public int remotePort() {
      return 52000;
    }

    @Override
    public String localAddress() {
      return "10.0.0.2";
    }

    @Override
    public int localPort() {
      return 10000;
    }

    @Override
    public String protocol() {
      return "HTTP/1.1";
    }

    @Override
    public ProxyMap getHttpRequestHeaders() {
      return requestHeaders;
    }

    @Override
    public ProxyMap getHttpRequestTrailers() {
      return new ArrayProxyMap();
    }

    @Override
    public ProxyMap getHttpResponseHeaders() {
      return responseHeaders;
    }

    @Override
    public ProxyMap getHttpResponseTrailers() {
      return new ArrayProxyMap();
    }

    @Override
    public ProxyMap getGrpcReceiveInitialMetaData() {
      return new ArrayProxyMap();
    }

    @Override
    public ProxyMap getGrpcReceiveTrailerMetaData() {
      return new ArrayProxyMap();
    }

    @Override
    public byte[] getProperty(PluginHttpContext context, List<String> path) throws WasmException {
      return properties.get(path);
    }

    @Override
    public WasmResult setProperty(PluginHttpContext context, List<String> path, byte[] value) {
      return WasmResult.UNIMPLEMENTED;
    }
  }

  /**
   * Metrics as the filter defined and updated them. Unlike the host's SimpleMetricsHandler it keeps
   * every histogram sample, not only the last one.
   */
  public static final class RecordedMetrics implements MetricsHandler {
    private final List<String> names = new ArrayList<>();
    private final List<MetricType> types = new ArrayList<>();
    private final Map<String, Long> values = new LinkedHashMap<>();
    private final Map<String, List<Long>> samples = new LinkedHashMap<>();

    @Override
    public synchronized int defineMetric(MetricType type, String name) {
      int existing = names.indexOf(name);
      if (existing >= 0) {
        return existing;
      }
      names.add(name);
      types.add(type);
      values.put(name, 0L);
      return names.size() - 1;
    }

    @Override
    public synchronized WasmResult incrementMetric(int id, long offset) {
      if (id < 0 || id >= names.size()) {
        return WasmResult.NOT_FOUND;
      }
      values.merge(names.get(id), offset, Long::sum);
      return WasmResult.OK;
    }

    @Override
    public synchronized WasmResult recordMetric(int id, long value) {
      if (id < 0 || id >= names.size()) {
        return WasmResult.NOT_FOUND;
      }
      if (types.get(id) == MetricType.HISTOGRAM) {
        samples.computeIfAbsent(names.get(id), n -> new ArrayList<>()).add(value);
      } else {
        values.put(names.get(id), value);
      }
      return WasmResult.OK;
    }

    @Override
    public synchronized long getMetric(int id) throws WasmException {
      if (id < 0 || id >= names.size()) {
        throw new WasmException(WasmResult.NOT_FOUND);
      }
      return values.get(names.get(id));
    }

    /** Counter or gauge value by name; null when the filter never defined it. */
    public synchronized Long value(String name) {
      return values.get(name);
    }

    public synchronized List<Long> samples(String name) {
      return List.copyOf(samples.getOrDefault(name, List.of()));
    }

    public synchronized List<String> names() {
      return List.copyOf(names);
    }
  }
}
