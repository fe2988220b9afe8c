package io.marchproxy.l4.udp;

import io.marchproxy.l4.config.ListenerSpec;
import io.marchproxy.l4.lb.ClusterRuntime;
import io.marchproxy.l4.lb.LiveEndpoint;
import io.marchproxy.l4.net.Dataplane;
import io.marchproxy.l4.ops.AccessLog;
import io.marchproxy.l4.policy.BandwidthClass;
import io.marchproxy.l4.policy.SourceLimiter;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOption;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.DatagramPacket;
import io.netty.util.concurrent.ScheduledFuture;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A UDP listener: a session per client address, each with its own connected backend socket on the
 * listener's event loop, so replies go back to the right client; sessions end after the idle
 * timeout.
 */
public final class UdpListener {

  private static final Logger log = LoggerFactory.getLogger(UdpListener.class);

  /** Datagrams held per session while its backend socket is being set up. */
  static final int MAX_QUEUED = 64;

  private final Dataplane dp;
  private final String name;
  private volatile ListenerSpec.Udp spec;
  private volatile SourceLimiter sources;
  private Channel channel;
  private ScheduledFuture<?> sweeper;
  private final Map<InetSocketAddress, Session> sessions = new ConcurrentHashMap<>();
  private final LongAdder bytesFromClient;
  private final LongAdder bytesToClient;
  private final Map<String, LongAdder> verdicts = new ConcurrentHashMap<>();
  private volatile boolean draining;

  public UdpListener(ListenerSpec.Udp spec, Dataplane dp) {
    this.dp = dp;
    this.name = spec.name();
    this.spec = spec;
    this.sources = limiter(spec);
    bytesFromClient =
        dp.metrics()
            .counter(
                "bytes_total",
                "Bytes relayed per listener and direction",
                "listener",
                name,
                "direction",
                "from_client");
    bytesToClient =
        dp.metrics()
            .counter(
                "bytes_total",
                "Bytes relayed per listener and direction",
                "listener",
                name,
                "direction",
                "to_client");
  }

  private SourceLimiter limiter(ListenerSpec.Udp s) {
    return new SourceLimiter(
        s.meta().perSourceConnectionsPerSecond(),
        s.meta().perSourceMaxConnections(),
        dp.maxTrackedSources(),
        dp.nanoClock());
  }

  public ListenerSpec.Udp spec() {
    return spec;
  }

  public void bind() throws Exception {
    channel =
        new Bootstrap()
            .group(dp.workers())
            .channel(dp.transport().datagramChannel())
            .option(ChannelOption.SO_REUSEADDR, true)
            .option(ChannelOption.SO_RCVBUF, 4 * 1024 * 1024)
            .handler(new ClientSide())
            .bind(spec.address())
            .sync()
            .channel();
    sweeper = channel.eventLoop().scheduleWithFixedDelay(this::sweep, 1, 1, TimeUnit.SECONDS);
    log.info("listener {}: accepting UDP on {}", name, spec.address());
  }

  public void update(ListenerSpec.Udp next) {
    var m = next.meta();
    if (!sources.sameLimits(m.perSourceConnectionsPerSecond(), m.perSourceMaxConnections())) {
      sources = limiter(next);
    }
    spec = next;
  }

  public int activeSessions() {
    return sessions.size();
  }

  /** Stops taking new sessions; existing ones run until idle or the deadline. */
  public CompletableFuture<Void> drain(Duration deadline) {
    draining = true;
    CompletableFuture<Void> done = new CompletableFuture<>();
    long until = System.nanoTime() + deadline.toNanos();
    Runnable[] check = new Runnable[1];
    check[0] =
        () -> {
          if (sessions.isEmpty() || System.nanoTime() - until >= 0) {
            sessions.values().forEach(s -> s.close("drained"));
            if (sweeper != null) {
              sweeper.cancel(false);
            }
            channel.close().addListener(f -> done.complete(null));
          } else {
            channel.eventLoop().schedule(check[0], 100, TimeUnit.MILLISECONDS);
          }
        };
    channel.eventLoop().execute(check[0]);
    return done;
  }

  private void sweep() {
    long now = dp.nanoClock().getAsLong();
    long idle = spec.idleTimeout().toNanos();
    for (Session s : List.copyOf(sessions.values())) {
      if (now - s.lastActivity > idle) {
        s.close("idle_timeout");
      }
    }
    sources.sweep();
  }

  private void count(String verdict) {
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

  /** Datagrams from clients. */
  private final class ClientSide extends SimpleChannelInboundHandler<DatagramPacket> {
    @Override
    protected void channelRead0(ChannelHandlerContext ctx, DatagramPacket packet) {
      InetSocketAddress client = packet.sender();
      Session s = sessions.get(client);
      if (s == null) {
        if (draining) {
          return;
        }
        s = open(client);
        if (s == null) {
          return;
        }
      }
      s.fromClient(packet.content());
    }
  }

  private Session open(InetSocketAddress client) {
    ListenerSpec.Udp sp = spec;
    long max =
        sp.meta().maxConnections() > 0 ? sp.meta().maxConnections() : dp.defaultMaxConnections();
    if (sessions.size() >= max) {
      count("over_limit");
      return null;
    }
    SourceLimiter limiter = sources;
    SourceLimiter.Verdict v = limiter.acquire(client.getAddress());
    if (v != SourceLimiter.Verdict.ADMITTED) {
      count(v == SourceLimiter.Verdict.RATE_LIMITED ? "source_rate_limited" : "source_over_limit");
      return null;
    }
    ClusterRuntime cluster = dp.clusters().apply(sp.cluster());
    ClusterRuntime.Pick pick =
        cluster == null
            ? new ClusterRuntime.NoneAvailable()
            : cluster.pick(client.getAddress(), List.of());
    if (!(pick instanceof ClusterRuntime.Chosen chosen)) {
      limiter.release(client.getAddress());
      count(pick instanceof ClusterRuntime.Overloaded ? "overloaded" : "no_healthy_endpoint");
      return null;
    }
    Session s = new Session(client, cluster, chosen.endpoint(), limiter);
    sessions.put(client, s);
    s.connect();
    return s;
  }

  /** One client's session: its backend socket and what it relayed. */
  private final class Session {
    final InetSocketAddress client;
    final ClusterRuntime cluster;
    final LiveEndpoint endpoint;
    final SourceLimiter limiter;
    final Instant start = dp.clock().instant();
    Channel backend;
    boolean ready;
    boolean closed;
    ArrayDeque<ByteBuf> queued = new ArrayDeque<>();
    volatile long lastActivity = dp.nanoClock().getAsLong();
    long fromClient;
    long toClient;

    Session(
        InetSocketAddress client,
        ClusterRuntime cluster,
        LiveEndpoint endpoint,
        SourceLimiter limiter) {
      this.client = client;
      this.cluster = cluster;
      this.endpoint = endpoint;
      this.limiter = limiter;
    }

    void connect() {
      int tos = BandwidthClass.of(spec.meta().bandwidthClass(), dp.env()).tos();
      Bootstrap b =
          new Bootstrap()
              .group(channel.eventLoop())
              .channel(dp.transport().datagramChannel())
              .handler(new BackendSide(this));
      if (tos != 0) {
        b.option(ChannelOption.IP_TOS, tos);
      }
      var f = b.connect(endpoint.address());
      backend = f.channel();
      f.addListener(
          done -> {
            if (!done.isSuccess()) {
              cluster.connectFailed(endpoint);
              close("connect_failed");
              return;
            }
            ready = true;
            ByteBuf q;
            while ((q = queued.poll()) != null) {
              backend.write(q, backend.voidPromise());
            }
            backend.flush();
          });
    }

    void fromClient(ByteBuf content) {
      if (closed) {
        return;
      }
      lastActivity = dp.nanoClock().getAsLong();
      int n = content.readableBytes();
      fromClient += n;
      bytesFromClient.add(n);
      if (ready) {
        backend.writeAndFlush(content.retain(), backend.voidPromise());
      } else if (queued.size() < MAX_QUEUED) {
        queued.add(content.retain());
      }
    }

    void fromBackend(ByteBuf content) {
      lastActivity = dp.nanoClock().getAsLong();
      int n = content.readableBytes();
      toClient += n;
      bytesToClient.add(n);
      channel.writeAndFlush(new DatagramPacket(content.retain(), client), channel.voidPromise());
    }

    void close(String verdict) {
      if (closed) {
        return;
      }
      closed = true;
      sessions.remove(client, this);
      queued.forEach(ByteBuf::release);
      queued.clear();
      if (backend != null) {
        backend.close();
      }
      cluster.release(endpoint);
      limiter.release(client.getAddress());
      count(verdict);
      AccessLog al = dp.accessLog();
      if (al.enabled()) {
        al.write(
            new AccessLog.Entry(
                name,
                "udp",
                client.getAddress().getHostAddress() + ":" + client.getPort(),
                client.getAddress().getHostAddress() + ":" + client.getPort(),
                endpoint.key(),
                verdict,
                start,
                dp.clock().instant(),
                fromClient,
                toClient));
      }
    }
  }

  /** Datagrams from one session's backend. */
  private final class BackendSide extends SimpleChannelInboundHandler<DatagramPacket> {
    private final Session session;

    BackendSide(Session session) {
      this.session = session;
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, DatagramPacket packet) {
      session.fromBackend(packet.content());
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      // ICMP port unreachable on the connected socket: the endpoint is not listening
      if (cause instanceof java.net.PortUnreachableException) {
        session.cluster.connectFailed(session.endpoint);
        session.close("backend_unreachable");
      }
    }
  }
}
