package io.marchproxy.l4.tcp;

import io.marchproxy.l4.config.ListenerSpec;
import io.marchproxy.l4.net.Dataplane;
import io.marchproxy.l4.ops.Metrics;
import io.marchproxy.l4.policy.BandwidthClass;
import io.marchproxy.l4.policy.SourceLimiter;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelConfig;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.IoEventLoop;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.handler.codec.haproxy.HAProxyMessageDecoder;
import io.netty.handler.traffic.GlobalTrafficShapingHandler;
import java.net.InetAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One TCP listener: its sockets (one per event loop with SO_REUSEPORT under epoll), the connections
 * it accepted, and the state its policies share. A spec update that keeps the address is swapped in
 * place: new connections see it, established ones carry on.
 */
public final class TcpListener {

  private static final Logger log = LoggerFactory.getLogger(TcpListener.class);

  static final int BACKLOG = 4096;

  static final WriteBufferWaterMark WATER_MARK = new WriteBufferWaterMark(256 * 1024, 512 * 1024);

  /** What new connections use; replaced as a whole on update. */
  record Policy(
      ListenerSpec.Tcp spec,
      List<ChainState> chains,
      SourceLimiter sources,
      BandwidthClass bandwidth,
      long maxConnections,
      boolean splice,
      boolean routesBySni,
      boolean direct) {}

  /** An open connection, as the idle sweep and the drain see it (either relay). */
  interface Connection {
    /** A cheap racy look from any thread; the close itself happens on the connection's loop. */
    void checkIdle(long now);

    /** A drain's deadline passed: closed with the verdict "drained". Any thread. */
    void closeDrained();
  }

  final Dataplane dp;
  final String name;
  private volatile Policy policy;
  private final List<Channel> serverChannels = new ArrayList<>();
  private final List<DirectAcceptor> acceptors = new ArrayList<>();

  /** Open connections (for the idle sweep and the drain); cheaper per connection than a group. */
  final Set<Connection> connections = ConcurrentHashMap.newKeySet();

  final AtomicInteger active = new AtomicInteger();
  final GlobalTrafficShapingHandler shaper;
  final LongAdder bytesFromClient;
  final LongAdder bytesToClient;
  final LongAdder splicedDirections;
  private final Map<String, LongAdder> verdicts = new ConcurrentHashMap<>();
  private volatile boolean draining;

  /** The loop the idle sweep runs on; {@link #sweeper} and {@link #sweepDue} are only its. */
  private final EventLoop sweepLoop;

  private io.netty.util.concurrent.ScheduledFuture<?> sweeper;
  private long sweepDue;
  private boolean sweepStopped;

  public TcpListener(ListenerSpec.Tcp spec, Dataplane dp) {
    this.dp = dp;
    this.name = spec.name();
    BandwidthClass bw = BandwidthClass.of(spec.meta().bandwidthClass(), dp.env());
    this.shaper =
        new GlobalTrafficShapingHandler(
            dp.workers().next(), bw.bytesPerSecond(), bw.bytesPerSecond(), 100);
    countOnlyWhenShaping(bw.bytesPerSecond());
    this.policy = policy(spec, null);
    this.sweepLoop = dp.workers().next();
    Metrics m = dp.metrics();
    bytesFromClient =
        m.counter(
            "bytes_total",
            "Bytes relayed per listener and direction",
            "listener",
            name,
            "direction",
            "from_client");
    bytesToClient =
        m.counter(
            "bytes_total",
            "Bytes relayed per listener and direction",
            "listener",
            name,
            "direction",
            "to_client");
    splicedDirections =
        m.counter(
            "spliced_directions_total",
            "Connection directions moved to splice(2) (bulk, no shaping)",
            "listener",
            name);
  }

  private Policy policy(ListenerSpec.Tcp spec, Policy old) {
    List<ChainState> chains = new ArrayList<>();
    for (ListenerSpec.FilterChain c : spec.chains()) {
      ChainState previous = null;
      if (old != null) {
        previous =
            old.chains.stream()
                .filter(o -> o.spec().serverNames().equals(c.serverNames()))
                .findFirst()
                .orElse(null);
      }
      chains.add(ChainState.carry(c, previous, dp.nanoClock()));
    }
    var meta = spec.meta();
    SourceLimiter sources =
        old != null
                && old.sources.sameLimits(
                    meta.perSourceConnectionsPerSecond(), meta.perSourceMaxConnections())
            ? old.sources
            : new SourceLimiter(
                meta.perSourceConnectionsPerSecond(),
                meta.perSourceMaxConnections(),
                dp.maxTrackedSources(),
                dp.nanoClock());
    BandwidthClass bw = BandwidthClass.of(meta.bandwidthClass(), dp.env());
    long max = meta.maxConnections() > 0 ? meta.maxConnections() : dp.defaultMaxConnections();
    // splice(2) bypasses the pipeline, so it is only for connections nothing shapes
    boolean unshapedEpoll = dp.transport().isEpoll() && bw.bytesPerSecond() <= 0;
    boolean splice =
        unshapedEpoll
            && !"off".equalsIgnoreCase(dp.env().getOrDefault("MARCHPROXY_L4_SPLICE", "on"));
    // The direct relay (decision 0308) carries what needs no pipeline: no shaping, no PROXY header
    // either way, no ClientHello to inspect. Everything else goes through Netty's channels.
    boolean direct =
        unshapedEpoll
            && !spec.acceptProxyProtocol()
            && !spec.routesBySni()
            && meta.sendProxyProtocol()
                == io.marchproxy.l4.config.MappingMeta.ProxyProtocolVersion.NONE
            && !"netty".equalsIgnoreCase(dp.env().getOrDefault("MARCHPROXY_L4_RELAY", "direct"));
    return new Policy(
        spec, List.copyOf(chains), sources, bw, max, splice, spec.routesBySni(), direct);
  }

  /**
   * A backend channel for one connection, not yet registered: the relay's options set directly (a
   * bootstrap per connection copied its option maps and queued the connect as another task).
   */
  Channel newBackendChannel(InetAddress to, int connectTimeoutMillis, int tos) {
    Channel ch = dp.transport().newSocketChannel(to);
    ChannelConfig c = ch.config();
    c.setAutoRead(false);
    c.setConnectTimeoutMillis(connectTimeoutMillis);
    c.setWriteBufferWaterMark(WATER_MARK);
    c.setOption(ChannelOption.ALLOW_HALF_CLOSURE, true);
    c.setOption(ChannelOption.SO_KEEPALIVE, true);
    if (!dp.transport().isEpoll()) {
      c.setOption(ChannelOption.TCP_NODELAY, true); // epoll channels start with it on
    }
    if (tos != 0) {
      c.setOption(ChannelOption.IP_TOS, tos);
    }
    return ch;
  }

  public ListenerSpec.Tcp spec() {
    return policy.spec;
  }

  Policy policy() {
    return policy;
  }

  /** Binds the listener's sockets; on failure nothing stays bound. */
  public void bind() throws Exception {
    ListenerSpec.Tcp spec = policy.spec;
    try {
      if (dp.transport().isEpoll()) {
        // Listening sockets of our own, one per event loop (SO_REUSEPORT): each accepted socket
        // goes to the direct relay or, when the policy needs a pipeline, into a Netty channel.
        for (io.netty.util.concurrent.EventExecutor loop : dp.workers()) {
          acceptors.add(DirectAcceptor.bind(this, (IoEventLoop) loop, spec.address()));
        }
      } else {
        ServerBootstrap b =
            new ServerBootstrap()
                .group(dp.workers())
                .channel(dp.transport().serverChannel())
                .option(ChannelOption.SO_BACKLOG, BACKLOG)
                .option(ChannelOption.SO_REUSEADDR, true)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childOption(ChannelOption.SO_KEEPALIVE, true)
                .childHandler(
                    new ChannelInitializer<>() {
                      @Override
                      protected void initChannel(Channel ch) {
                        acceptedOptions(ch.config());
                        initConnection(ch);
                      }
                    });
        serverChannels.add(b.bind(spec.address()).sync().channel());
      }
    } catch (Exception e) {
      stopAccepting();
      throw e;
    }
    log.info(
        "listener {}: accepting on {} ({} sockets)",
        name,
        spec.address(),
        serverChannels.size() + acceptors.size());
    sweepLoop.execute(this::scheduleSweep);
  }

  /**
   * An accepted socket of a {@link DirectAcceptor} whose connection needs a pipeline: wrapped in a
   * Netty channel set up as the bootstrap would have, and registered on the acceptor's loop.
   */
  void acceptIntoPipeline(int fd, IoEventLoop loop) {
    EpollSocketChannel ch = new EpollSocketChannel(fd);
    acceptedOptions(ch.config());
    initConnection(ch);
    loop.register(ch)
        .addListener(
            f -> {
              if (!f.isSuccess()) {
                ch.unsafe().closeForcibly();
              }
            });
  }

  /** What the pipeline relay needs of an accepted channel: reads on demand, half-closure. */
  private static void acceptedOptions(ChannelConfig c) {
    c.setAutoRead(false);
    c.setOption(ChannelOption.ALLOW_HALF_CLOSURE, true);
    c.setWriteBufferWaterMark(WATER_MARK);
  }

  private void initConnection(Channel ch) {
    Policy p = policy;
    if (p.bandwidth.bytesPerSecond() > 0) {
      ch.pipeline().addLast("shaper", shaper);
    }
    if (p.spec.acceptProxyProtocol()) {
      ch.pipeline().addLast("proxy-protocol", new HAProxyMessageDecoder());
    }
    if (p.routesBySni) {
      ch.pipeline().addLast("sni", new SniInspector());
    }
    ch.pipeline().addLast("frontend", new FrontendHandler(this, p));
  }

  /** Swaps in a new spec with the same address; established connections keep their policy. */
  public void update(ListenerSpec.Tcp spec) {
    Policy next = policy(spec, policy);
    shaper.configure(next.bandwidth.bytesPerSecond(), next.bandwidth.bytesPerSecond());
    countOnlyWhenShaping(next.bandwidth.bytesPerSecond());
    policy = next;
    // a shorter idle timeout brings the next sweep forward
    sweepLoop.execute(this::scheduleSweep);
  }

  /**
   * The shaper's traffic counter ticks every 100 ms on an event loop; an unshaped listener (most of
   * them) has no use for it, and with many listeners the ticks would be most of the loops' wakeups.
   */
  private void countOnlyWhenShaping(long bytesPerSecond) {
    if (bytesPerSecond > 0) {
      shaper.trafficCounter().start();
    } else {
      shaper.trafficCounter().stop();
    }
  }

  /**
   * How often idle connections are looked for: a quarter of the shortest idle timeout of the
   * listener's chains, between 50 ms and a second — a connection idle for its timeout T is closed
   * within T + T/4 (T + 1 s for long timeouts, and for connections that kept the timeout of a
   * policy the listener has since replaced with a longer one).
   */
  static long sweepPeriodNanos(List<ListenerSpec.FilterChain> chains) {
    long period = TimeUnit.SECONDS.toNanos(1);
    for (ListenerSpec.FilterChain c : chains) {
      long idle = c.route().idleTimeout().toNanos();
      if (idle > 0) {
        period = Math.min(period, idle / 4);
      }
    }
    return Math.max(period, TimeUnit.MILLISECONDS.toNanos(50));
  }

  /** (On {@link #sweepLoop}.) Schedules the next sweep, unless one is due sooner already. */
  private void scheduleSweep() {
    if (sweepStopped) {
      return;
    }
    long delay = sweepPeriodNanos(policy.spec.chains());
    long due = System.nanoTime() + delay;
    if (sweeper != null) {
      if (due - sweepDue >= 0) {
        return;
      }
      sweeper.cancel(false);
    }
    sweepDue = due;
    sweeper = sweepLoop.schedule(this::sweepIdle, delay, TimeUnit.NANOSECONDS);
  }

  /** (On {@link #sweepLoop}.) Closes the connections idle past their timeout. */
  private void sweepIdle() {
    sweeper = null;
    long now = System.nanoTime();
    for (Connection f : connections) {
      try {
        f.checkIdle(now);
      } catch (java.util.concurrent.RejectedExecutionException loopShuttingDown) {
        // its loop is stopping, and closes it anyway
      }
    }
    scheduleSweep();
  }

  public void stopAccepting() {
    for (Channel c : serverChannels) {
      c.close().syncUninterruptibly();
    }
    serverChannels.clear();
    for (DirectAcceptor a : acceptors) {
      a.close();
    }
    acceptors.clear();
  }

  public boolean draining() {
    return draining;
  }

  public int activeConnections() {
    return active.get();
  }

  /**
   * Stops accepting and lets established connections finish; those still open at the deadline are
   * closed. Completes when none is left.
   */
  public CompletableFuture<Void> drain(Duration deadline) {
    draining = true;
    stopAccepting();
    CompletableFuture<Void> done = new CompletableFuture<>();
    var loop = dp.workers().next();
    long until = System.nanoTime() + deadline.toNanos();
    Runnable[] check = new Runnable[1];
    check[0] =
        () -> {
          if (active.get() <= 0) {
            done.complete(null);
          } else if (System.nanoTime() - until >= 0) {
            log.info(
                "listener {}: drain deadline passed; closing {} connections", name, active.get());
            for (Connection f : connections) {
              f.closeDrained();
            }
            loop.schedule(check[0], 50, TimeUnit.MILLISECONDS);
          } else {
            loop.schedule(check[0], 50, TimeUnit.MILLISECONDS);
          }
        };
    loop.execute(check[0]);
    return done.whenComplete(
        (v, e) -> {
          shaper.release();
          sweepLoop.execute(
              () -> {
                sweepStopped = true;
                if (sweeper != null) {
                  sweeper.cancel(false);
                }
              });
        });
  }

  void count(String verdict) {
    verdicts
        .computeIfAbsent(
            verdict,
            v ->
                dp.metrics()
                    .counter(
                        "connections_total",
                        "Connections per listener by verdict (proxied or why refused)",
                        "listener",
                        name,
                        "verdict",
                        v))
        .increment();
  }
}
