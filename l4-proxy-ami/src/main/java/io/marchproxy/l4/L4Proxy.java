package io.marchproxy.l4;

import io.marchproxy.l4.api.Registration;
import io.marchproxy.l4.net.Transport;
import io.marchproxy.l4.ops.AccessLog;
import io.marchproxy.l4.ops.AdminServer;
import io.marchproxy.l4.ops.Metrics;
import io.marchproxy.l4.runtime.ProxyRuntime;
import io.marchproxy.l4.xdp.FastPath;
import io.marchproxy.l4.xds.AdsClient;
import io.marchproxy.l4.xds.ConfigState;
import io.marchproxy.l4.xds.DiskCache;
import io.netty.channel.EventLoopGroup;
import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The whole proxy: registration, the ADS client, the running listeners and the admin port. Start
 * order: admin (so /healthz answers), registration, then the stream; if no config arrives within
 * the grace period, the disk cache is served until one does.
 */
public final class L4Proxy implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(L4Proxy.class);

  private final Settings settings;
  private final Metrics metrics = new Metrics();
  private final Transport transport = Transport.best();
  private final EventLoopGroup workers;
  private final EventLoopGroup adminLoop;
  private final ProxyRuntime runtime;
  private final ConfigState state;
  private final ScheduledExecutorService timers;
  private final FastPath xdp;
  private AdminServer admin;
  private AdsClient ads;
  private volatile String proxyId;
  private volatile String registrationError = "";
  private volatile boolean closed;

  public L4Proxy(Settings settings) {
    this(settings, settings.accessLog() ? AccessLog.toLogger() : AccessLog.off());
  }

  public L4Proxy(Settings settings, AccessLog accessLog) {
    this(settings, accessLog, r -> new Thread(r, "l4-xdp"));
  }

  /** {@code xdpThreads} makes the thread XDP work runs on (tests join a network namespace). */
  public L4Proxy(Settings settings, AccessLog accessLog, ThreadFactory xdpThreads) {
    this.settings = settings;
    this.workers = transport.newGroup(settings.workers());
    this.adminLoop = transport.newGroup(1);
    this.runtime =
        new ProxyRuntime(
            transport,
            workers,
            metrics,
            accessLog,
            Clock.systemUTC(),
            settings.env(),
            settings.drainTimeout(),
            settings.maxConnectionsPerListener());
    this.xdp = new FastPath(settings.xdp(), metrics, xdpThreads);
    runtime.onApplied(xdp::apply);
    this.state =
        new ConfigState(
            runtime, new DiskCache(settings.stateDir().resolve("xds-cache.pb")), metrics);
    this.timers =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "l4-timers");
              t.setDaemon(true);
              return t;
            });
  }

  public ProxyRuntime runtime() {
    return runtime;
  }

  public ConfigState state() {
    return state;
  }

  public Metrics metrics() {
    return metrics;
  }

  public FastPath xdp() {
    return xdp;
  }

  public int adminPort() {
    return admin.port();
  }

  public String proxyId() {
    return proxyId;
  }

  public AdsClient ads() {
    return ads;
  }

  public void start() throws InterruptedException {
    log.info(
        "MarchProxy L4 {} starting ({} transport, {} workers)",
        Settings.VERSION,
        transport.name(),
        settings.workers());
    admin =
        new AdminServer(
            settings.adminAddress(),
            adminLoop,
            transport.serverChannel(),
            metrics,
            this::readiness,
            this::configJson);
    // Before any config is applied: the XDP thread attaches first, then writes each config.
    xdp.start();
    timers.schedule(
        () -> {
          if (!state.ready() && !closed) {
            state.startFromDisk();
          }
        },
        settings.cacheGrace().toMillis(),
        TimeUnit.MILLISECONDS);
    timers.execute(this::register);
  }

  /**
   * How long to wait before registration attempt {@code failures + 1}: 5 s after the first failure,
   * doubling up to a minute. A proxy left without its API retries every few seconds at first, then
   * stops spending its (data-plane) CPU on it every 5 s: each attempt runs cold code on the CPU the
   * event loops use.
   */
  static Duration registrationRetry(int failures) {
    long seconds = 5L << Math.min(Math.max(failures - 1, 0), 4);
    return Duration.ofSeconds(Math.min(seconds, 60));
  }

  private Registration registration;
  private int registrationFailures;

  private void register() {
    if (closed) {
      return;
    }
    if (registration == null) {
      // one client for every attempt and the heartbeats (each one holds a selector thread)
      registration =
          new Registration(settings.apiUrl(), settings.clusterKey(), settings.stateDir());
    }
    Registration reg = registration;
    Registration.Registered r;
    try {
      r =
          reg.register(
              new Registration.Self(
                  settings.name(),
                  settings.hostname(),
                  settings.region(),
                  settings.zone(),
                  Settings.VERSION));
    } catch (IOException e) {
      registrationError = e.getMessage();
      Duration retry = registrationRetry(++registrationFailures);
      log.warn("{}; retrying in {} s", e.getMessage(), retry.toSeconds());
      timers.schedule(this::register, retry.toMillis(), TimeUnit.MILLISECONDS);
      return;
    }
    registrationError = "";
    proxyId = r.proxyId();
    ads =
        new AdsClient(
            settings.xdsTarget(),
            settings.xdsTls(),
            settings.clusterKey(),
            new AdsClient.Identity(
                r.proxyId(), r.clusterId(), settings.region(), settings.zone(), Settings.VERSION),
            state,
            metrics,
            Duration.ofMillis(500),
            Duration.ofSeconds(30));
    ads.start();
    long hb = settings.heartbeat().toMillis();
    timers.scheduleWithFixedDelay(() -> reg.heartbeat(r.proxyId()), hb, hb, TimeUnit.MILLISECONDS);
  }

  private AdminServer.Status readiness() {
    boolean ready = state.ready();
    String json =
        "{\"ready\":"
            + ready
            + ",\"configSource\":\""
            + state.source().name().toLowerCase(java.util.Locale.ROOT)
            + "\",\"xdsConnected\":"
            + (ads != null && ads.connected())
            + ",\"proxyId\":"
            + quote(proxyId)
            + ",\"lastNack\":"
            + quote(state.lastError())
            + ",\"streamError\":"
            + quote(ads == null ? registrationError : ads.lastStreamError())
            + ",\"xdp\":"
            + xdpJson(xdp.status())
            + "}";
    return new AdminServer.Status(ready, json);
  }

  private static String xdpJson(FastPath.Status s) {
    return "{\"state\":\""
        + s.state().name().toLowerCase(java.util.Locale.ROOT)
        + "\",\"interface\":"
        + quote(s.iface().orElse(null))
        + ",\"mode\":"
        + quote(s.mode().map(FastPath::mode).orElse(null))
        + ",\"reason\":"
        + quote(s.reason().orElse(null))
        + ",\"lastError\":"
        + quote(s.lastError().orElse(null))
        + ",\"configsApplied\":"
        + s.configsApplied()
        + "}";
  }

  private String configJson() {
    var c = runtime.running();
    StringBuilder b = new StringBuilder("{\"listeners\":[");
    b.append(
        String.join(
            ",",
            c.listeners().values().stream()
                .map(l -> quote(l.name() + " " + l.address()))
                .toList()));
    b.append("],\"clusters\":[");
    b.append(
        String.join(
            ",",
            c.clusters().keySet().stream()
                .map(
                    n -> {
                      var rt = runtime.cluster(n);
                      return "{\"name\":"
                          + quote(n)
                          + ",\"endpoints\":"
                          + (rt == null
                              ? "[]"
                              : "["
                                  + String.join(
                                      ",",
                                      rt.endpoints().stream().map(e -> quote(e.key())).toList())
                                  + "]")
                          + ",\"health\":"
                          + quote(rt == null ? "" : rt.healthCounts().toString())
                          + "}";
                    })
                .toList()));
    return b.append("]}").toString();
  }

  private static String quote(String s) {
    if (s == null) {
      return "null";
    }
    return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", " ") + "\"";
  }

  /** Stops accepting, lets connections finish up to the drain timeout, then stops. */
  public void drainAndStop() {
    log.info("draining (up to {} s)", settings.drainTimeout().toSeconds());
    runtime.drainAll(settings.drainTimeout());
    close();
  }

  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    timers.shutdownNow();
    if (ads != null) {
      ads.close();
    }
    runtime.close();
    xdp.close();
    if (admin != null) {
      admin.close();
    }
    workers.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
    adminLoop.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
    log.info("stopped");
  }
}
