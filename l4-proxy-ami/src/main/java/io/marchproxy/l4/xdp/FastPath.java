package io.marchproxy.l4.xdp;

import io.marchproxy.l4.config.ProxyConfig;
import io.marchproxy.l4.ops.Metrics;
import io.marchproxy.xdp.AttachMode;
import io.marchproxy.xdp.Attachment;
import io.marchproxy.xdp.Cidr;
import io.marchproxy.xdp.Counter;
import io.marchproxy.xdp.Counters;
import io.marchproxy.xdp.Protocol;
import io.marchproxy.xdp.XdpMaps;
import io.marchproxy.xdp.XdpProgram;
import io.marchproxy.xdp.XdpUnavailableException;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The L4 proxy's XDP fast path: attaches the program at start (native, falling back to generic),
 * writes the maps from every applied config, exports the counters, and detaches (or keeps the
 * pinned state) on stop. Every XDP operation runs on one thread of its own, so an interface in
 * another network namespace works when that thread has joined it (tests), and a config apply never
 * waits for a bpf() syscall. Nothing here can stop the proxy: when XDP cannot be used it says so in
 * the log, on /readyz and in {@code marchproxy_l4_xdp_attached}, and the proxy serves on.
 */
public final class FastPath implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(FastPath.class);

  /** off: not configured; attached; unavailable: XDP cannot be used here; failed: an error. */
  public enum State {
    OFF,
    ATTACHED,
    UNAVAILABLE,
    FAILED
  }

  /** What /readyz says. */
  public record Status(
      State state,
      Optional<String> iface,
      Optional<AttachMode> mode,
      Optional<String> reason,
      Optional<String> lastError,
      long configsApplied) {}

  private final XdpSettings settings;
  private final ExecutorService thread;
  private final AtomicReference<ProxyConfig> pending = new AtomicReference<>();
  private volatile Status status;
  private XdpProgram program; // on the XDP thread only
  private Attachment attachment;
  private Map<Integer, Set<Protocol>> applied; // what mp_ports holds, once read
  private XdpPlan written; // the last plan written without error
  private long configsApplied;
  private volatile boolean closed;

  public FastPath(XdpSettings settings, Metrics metrics) {
    this(settings, metrics, r -> new Thread(r, "l4-xdp"));
  }

  /** {@code threads} makes the one thread XDP work runs on (a test's joins a namespace first). */
  public FastPath(XdpSettings settings, Metrics metrics, ThreadFactory threads) {
    this.settings = settings;
    this.status =
        new Status(
            settings.enabled() ? State.FAILED : State.OFF,
            settings.iface(),
            Optional.empty(),
            Optional.of(
                settings.enabled() ? "not started" : "MARCHPROXY_L4_XDP_INTERFACE is not set"),
            Optional.empty(),
            0);
    this.thread =
        Executors.newSingleThreadExecutor(
            r -> {
              Thread t = threads.newThread(r);
              t.setDaemon(true);
              return t;
            });
    registerMetrics(metrics);
  }

  public Status status() {
    return status;
  }

  /** Attaches; returns once it is done (or known impossible). */
  public void start() {
    if (!settings.enabled()) {
      log.info("XDP fast path off (MARCHPROXY_L4_XDP_INTERFACE is not set)");
      return;
    }
    await(thread.submit(this::attach));
  }

  private void attach() {
    String iface = settings.iface().orElseThrow();
    try {
      program = XdpProgram.load(XdpProgram.LoadOptions.pinnedFor(iface));
      attachment = program.attach(iface, settings.mode());
      attachment
          .fallbackReason()
          .ifPresent(why -> log.warn("XDP on {} in generic mode: {}", iface, why));
      log.info("XDP fast path attached to {} ({} mode)", iface, mode(attachment.mode()));
      status =
          new Status(
              State.ATTACHED,
              settings.iface(),
              Optional.of(attachment.mode()),
              attachment.fallbackReason(),
              Optional.empty(),
              0);
    } catch (XdpUnavailableException e) {
      release();
      log.warn(
          "running without the XDP fast path on {} ({}): {}", iface, e.reason(), e.getMessage());
      status =
          new Status(
              State.UNAVAILABLE,
              settings.iface(),
              Optional.empty(),
              Optional.of(e.reason() + ": " + e.getMessage()),
              Optional.empty(),
              0);
    } catch (RuntimeException | LinkageError e) {
      release();
      log.warn("running without the XDP fast path on {}: {}", iface, e.getMessage());
      status =
          new Status(
              State.FAILED,
              settings.iface(),
              Optional.empty(),
              Optional.of(String.valueOf(e.getMessage())),
              Optional.empty(),
              0);
    }
  }

  /**
   * Called after every applied config (xDS or disk cache): the maps follow, asynchronously; a burst
   * of applies writes only the latest.
   */
  public void apply(ProxyConfig config) {
    if (!settings.enabled() || closed) {
      return;
    }
    if (pending.getAndSet(config) == null) {
      try {
        thread.execute(this::writeLatest);
      } catch (java.util.concurrent.RejectedExecutionException stopping) {
        // closed meanwhile: nothing to write to
      }
    }
  }

  /** Waits until every config handed to {@link #apply} so far is in the maps (tests). */
  public void sync() {
    await(thread.submit(() -> {}));
  }

  private void writeLatest() {
    ProxyConfig config = pending.getAndSet(null);
    if (config == null || program == null || closed) {
      return;
    }
    XdpPlan plan = XdpPlan.of(config, settings);
    if (plan.equals(written)) {
      return; // an endpoint or cluster change: the maps already say this
    }
    try {
      write(program.maps(), plan);
      written = plan;
      configsApplied++;
      status =
          new Status(
              status.state(),
              status.iface(),
              status.mode(),
              status.reason(),
              Optional.empty(),
              configsApplied);
      log.info(
          "XDP maps updated: {} protected ports, SYN guard {}, packet budget {}",
          plan.ports().size(),
          plan.config()
              .synGuard()
              .map(g -> g.synsPerSource() + " per source")
              .orElse("off (" + plan.synGuardOffBecause().orElse("") + ")"),
          plan.config().packets().map(Object::toString).orElse("off"));
    } catch (RuntimeException e) {
      log.warn("cannot write the XDP maps: {}", e.getMessage());
      status =
          new Status(
              status.state(),
              status.iface(),
              status.mode(),
              status.reason(),
              Optional.of(String.valueOf(e.getMessage())),
              configsApplied);
    }
  }

  private void write(XdpMaps maps, XdpPlan plan) {
    if (applied == null) {
      // Pinned state from an earlier run may protect ports nobody listens on any more.
      applied = new HashMap<>(maps.protectedPorts());
    }
    sync(maps.allowList(), plan.allow(), maps::allow, maps::removeAllowed);
    sync(maps.denyList(), plan.deny(), maps::deny, maps::removeDenied);
    maps.configure(plan.config());
    for (var e : plan.ports().entrySet()) {
      if (!e.getValue().equals(applied.get(e.getKey()))) {
        maps.protect(e.getKey(), e.getValue());
        applied.put(e.getKey(), e.getValue());
      }
    }
    for (Integer port : Set.copyOf(applied.keySet())) {
      if (!plan.ports().containsKey(port)) {
        maps.unprotect(port);
        applied.remove(port);
      }
    }
    protectedCount = applied.size();
  }

  private static void sync(
      java.util.List<Cidr> current,
      java.util.List<Cidr> wanted,
      java.util.function.Consumer<Cidr> add,
      java.util.function.Consumer<Cidr> remove) {
    Set<Cidr> have = new HashSet<>(current);
    for (Cidr c : wanted) {
      if (!have.remove(c)) {
        add.accept(c);
      }
    }
    have.forEach(remove);
  }

  /** The counters summed over CPUs, when attached. */
  public Optional<Counters> counters() {
    if (status.state() != State.ATTACHED || closed) {
      return Optional.empty();
    }
    try {
      return await(thread.submit(() -> program == null ? null : program.maps().counters()));
    } catch (RuntimeException e) {
      return Optional.empty();
    }
  }

  private void registerMetrics(Metrics m) {
    m.gauge(
        "xdp_attached",
        "1 when the XDP fast path is attached in this mode (0 for both: XDP is off, see /readyz)",
        s -> {
          Status st = status;
          for (AttachMode mode : AttachMode.values()) {
            boolean on = st.state() == State.ATTACHED && st.mode().orElse(null) == mode;
            s.sample(on ? 1 : 0, "mode", mode(mode));
          }
        });
    m.gauge(
        "xdp_protected_ports",
        "Ports the XDP program acts on (the listeners' ports)",
        s -> {
          if (status.state() == State.ATTACHED) {
            s.sample(protectedCount);
          }
        });
    m.counterFamily(
        "xdp_packets_total",
        "Packets the XDP program counted, by counter (kind verdict: exactly one per packet)",
        s ->
            counters()
                .ifPresent(
                    c -> {
                      for (Counter k : Counter.values()) {
                        s.sample(c.packets(k), "counter", k.metricName(), "kind", kind(k));
                      }
                    }));
    m.counterFamily(
        "xdp_bytes_total",
        "Bytes of the packets the XDP program counted, by counter",
        s ->
            counters()
                .ifPresent(
                    c -> {
                      for (Counter k : Counter.values()) {
                        s.sample(c.bytes(k), "counter", k.metricName(), "kind", kind(k));
                      }
                    }));
  }

  private volatile int protectedCount;

  private static String kind(Counter c) {
    return c.kind().name().toLowerCase(Locale.ROOT);
  }

  public static String mode(AttachMode m) {
    return m.name().toLowerCase(Locale.ROOT);
  }

  private static <T> Optional<T> await(Future<T> f) {
    try {
      return Optional.ofNullable(f.get(10, TimeUnit.SECONDS));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted waiting for the XDP thread", e);
    } catch (java.util.concurrent.ExecutionException e) {
      throw new IllegalStateException(e.getCause().getMessage(), e.getCause());
    } catch (java.util.concurrent.TimeoutException e) {
      throw new IllegalStateException("the XDP thread did not answer within 10 s", e);
    }
  }

  private void release() {
    if (program != null) {
      program.close();
      program = null;
    }
  }

  /** Detaches and removes the pins ({@code MARCHPROXY_L4_XDP_ON_STOP=detach}) or keeps both. */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    try {
      await(
          thread.submit(
              () -> {
                if (program == null) {
                  return;
                }
                String iface = attachment.iface();
                try {
                  if (settings.detachOnStop()) {
                    boolean detached = XdpProgram.detach(iface);
                    log.info(
                        "XDP fast path {} from {}; pinned state removed",
                        detached ? "detached" : "was no longer attached",
                        iface);
                  } else {
                    log.info(
                        "XDP fast path stays attached to {} with its pinned state (a restart"
                            + " reuses it; MARCHPROXY_L4_XDP_ON_STOP=detach removes it)",
                        iface);
                  }
                } catch (RuntimeException e) {
                  log.warn("cannot detach XDP from {}: {}", iface, e.getMessage());
                } finally {
                  release();
                }
              }));
    } catch (RuntimeException e) {
      log.warn("XDP stop: {}", e.getMessage());
    } finally {
      thread.shutdown();
    }
    status =
        new Status(
            State.OFF,
            settings.iface(),
            Optional.empty(),
            Optional.of("stopped"),
            Optional.empty(),
            configsApplied);
  }
}
