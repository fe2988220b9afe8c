package io.marchproxy.l4.tcp;

import io.marchproxy.l4.config.MappingMeta.ProxyProtocolVersion;
import io.marchproxy.l4.lb.LiveEndpoint;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.epoll.AbstractEpollStreamChannel;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.DuplexChannel;
import io.netty.handler.codec.haproxy.HAProxyCommand;
import io.netty.handler.codec.haproxy.HAProxyMessage;
import io.netty.handler.codec.haproxy.HAProxyMessageEncoder;
import io.netty.handler.codec.haproxy.HAProxyProtocolVersion;
import io.netty.handler.codec.haproxy.HAProxyProxiedProtocol;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;

/**
 * One client connection, from accept to close: reads the PROXY header and the TLS server name when
 * the listener asks for them, applies the chain's policies, connects a backend on this connection's
 * event loop (retrying other endpoints), then relays bytes both ways with auto-read off — each side
 * is read only while the other can take more — and half-closes like TCP does.
 */
final class FrontendHandler extends ChannelInboundHandlerAdapter
    implements SplicedDirection.Relay, TcpListener.Connection {

  @Override
  public boolean isSharable() {
    return false; // said here: Netty's own answer is a per-thread map lookup per connection
  }

  /**
   * A direction moves to splice(2) once one read burst carries this much: bulk transfers get there
   * in their first milliseconds, request/response traffic never does (splicing a small message
   * costs one more system call than reading it).
   */
  static final int SPLICE_AFTER_BURST = 32 * 1024;

  private final TcpListener listener;
  private final TcpListener.Policy policy;
  private final Admission a;

  private Channel inbound;
  private Channel outbound;
  private boolean connected;
  private InetSocketAddress destination;
  private CompositeByteBuf pending;
  private boolean inboundDone;
  private boolean outboundDone;
  private boolean inboundReadDeferred;
  boolean outboundReadDeferred;
  private boolean finished;
  private Channel failedBackend;

  /**
   * Nothing shapes the client side: writes to it skip the pipeline (it has no outbound handler).
   */
  private boolean directToClient;

  private ScheduledFuture<?> headerTimeout;
  long fromClient;
  long toClient;
  private int burstFromClient;
  private int burstToClient;
  private ReadCounter inboundReads;
  private ReadCounter outboundReads;
  private SplicedDirection clientSplice;
  private SplicedDirection backendSplice;

  /**
   * Idle tracking without a timer per connection: the relay stamps the time of the last bytes
   * either way; the listener's sweeper reads it (racily, then confirms on this event loop).
   */
  private long lastActivity = System.nanoTime();

  FrontendHandler(TcpListener listener, TcpListener.Policy policy) {
    this.listener = listener;
    this.policy = policy;
    this.a = new Admission(listener, policy);
  }

  /** Called by the listener's sweeper from any thread: a cheap racy look, confirmed on the loop. */
  @Override
  public void checkIdle(long now) {
    if (a.idleAt(now, lastActivity)) {
      inbound.eventLoop().execute(this::closeIfIdle);
    }
  }

  private void closeIfIdle() {
    if (!finished && a.idleAt(System.nanoTime(), lastActivity)) {
      a.verdict = "idle_timeout";
      closeBoth();
    }
  }

  /** A drain's deadline passed: closed with the verdict "drained". Any thread. */
  @Override
  public void closeDrained() {
    inbound
        .eventLoop()
        .execute(
            () -> {
              a.drained = true;
              inbound.close();
            });
  }

  // ------------------------------------------------------------------------------------------
  // Accept, PROXY header, SNI, policies

  @Override
  public void channelActive(ChannelHandlerContext ctx) {
    inbound = ctx.channel();
    destination = (InetSocketAddress) inbound.localAddress();
    listener.connections.add(this);
    directToClient = policy.bandwidth().bytesPerSecond() <= 0;
    if (policy.splice()) {
      inboundReads = ReadCounter.install(inbound);
    }
    String over = a.enter((InetSocketAddress) inbound.remoteAddress());
    if (over != null) {
      refuse(over);
      return;
    }
    if (policy.spec().acceptProxyProtocol() || policy.routesBySni()) {
      headerTimeout =
          ctx.executor()
              .schedule(
                  () -> refuse("header_timeout"),
                  io.marchproxy.l4.net.Dataplane.HEADER_TIMEOUT.toMillis(),
                  TimeUnit.MILLISECONDS);
      ctx.read();
    } else {
      admit(ctx, null);
    }
  }

  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
    // plain instanceof, not a pattern switch: the switch's type-test call site was deoptimized and
    // recompiled over and over as the event types of a connection's end came by (JFR)
    if (evt instanceof ChannelInputShutdownEvent) {
      if (clientSplice != null) {
        clientSplice.inputShutdown(); // ends in splicedInputEnded once the queue is moved
        return;
      }
      clientInputEnded();
    } else if (evt instanceof SniInspector.SniSeen sni) {
      admit(ctx, sni.serverName());
    } else {
      ctx.fireUserEventTriggered(evt);
    }
  }

  private void clientInputEnded() {
    inboundDone = true;
    if (connected) {
      if (outboundDone) {
        closeBoth(); // both sides are done: closing passes the FIN on
      } else {
        // the client is done sending: pass its FIN on once what it sent is written
        flushThenShutdownOutput(outbound);
      }
    } else if (a.cluster == null) {
      // gone before it was admitted (during the PROXY header or the ClientHello)
      refuse("client_closed");
    }
    // else: connecting; onConnected() passes the FIN on
  }

  private void onProxyHeader(ChannelHandlerContext ctx, HAProxyMessage m) {
    try {
      if (m.command() == HAProxyCommand.PROXY
          && m.sourceAddress() != null
          && (m.proxiedProtocol() == HAProxyProxiedProtocol.TCP4
              || m.proxiedProtocol() == HAProxyProxiedProtocol.TCP6)) {
        a.source = new InetSocketAddress(InetAddress.getByName(m.sourceAddress()), m.sourcePort());
        destination =
            new InetSocketAddress(
                InetAddress.getByName(m.destinationAddress()), m.destinationPort());
      }
    } catch (java.net.UnknownHostException e) {
      refuse("bad_proxy_protocol");
      return;
    } finally {
      m.release();
    }
    if (policy.routesBySni()) {
      ctx.read();
    } else {
      admit(ctx, null);
    }
  }

  private void admit(ChannelHandlerContext ctx, String serverName) {
    if (headerTimeout != null) {
      headerTimeout.cancel(false);
    }
    if (finished) {
      return;
    }
    String refused = a.admit(serverName);
    if (refused != null) {
      refuse(refused);
      return;
    }
    if (policy.bandwidth().tos() != 0) {
      inbound.config().setOption(ChannelOption.IP_TOS, policy.bandwidth().tos());
    }
    connect();
  }

  // ------------------------------------------------------------------------------------------
  // Backend connection

  private void connect() {
    LiveEndpoint e = a.next();
    if (e == null) {
      closeBoth(); // the verdict says why
      return;
    }
    Channel ch =
        listener.newBackendChannel(
            e.address().getAddress(),
            (int) a.cluster.spec().connectTimeout().toMillis(),
            policy.bandwidth().tos());
    if (policy.splice()) {
      outboundReads = ReadCounter.install(ch);
    }
    ch.pipeline().addLast(new BackendHandler(this));
    outbound = ch;
    // registering on this (the client's) event loop completes at once; connect right after
    inbound
        .eventLoop()
        .register(ch)
        .addListener(
            (ChannelFutureListener)
                registered -> {
                  if (registered.isSuccess()) {
                    ch.connect(e.address()).addListener(done -> connected(ch, done.isSuccess()));
                  } else {
                    ch.unsafe().closeForcibly();
                    connected(ch, false);
                  }
                });
  }

  private void connected(Channel ch, boolean ok) {
    if (ok) {
      a.connected();
      onConnected();
      return;
    }
    a.connectFailed();
    if (finished) {
      ch.close();
      return;
    }
    if (!a.mayRetry()) {
      ch.close();
      refuse("connect_failed");
    } else if (ch.isRegistered()) {
      // The next attempt waits until this channel is deregistered: its socket's number can come
      // straight back for the next socket, and a late deregistration would then remove that one.
      failedBackend = ch;
      ch.close();
    } else {
      connect();
    }
  }

  /** A backend channel left its event loop; a failed attempt's leaving starts the next one. */
  void backendUnregistered(Channel ch) {
    if (ch == failedBackend) {
      failedBackend = null;
      if (!finished) {
        connect();
      }
    }
  }

  private void onConnected() {
    if (finished) {
      outbound.close();
      return;
    }
    connected = true;
    boolean wrote = false;
    ProxyProtocolVersion send = policy.spec().meta().sendProxyProtocol();
    if (send != ProxyProtocolVersion.NONE) {
      outbound.pipeline().addFirst("proxy-protocol-out", HAProxyMessageEncoder.INSTANCE);
      outbound.write(proxyHeader(send));
      wrote = true;
    }
    if (pending != null) {
      fromClient += pending.readableBytes();
      listener.bytesFromClient.add(pending.readableBytes());
      outbound.write(pending);
      pending = null;
      wrote = true;
    }
    if (inboundDone) {
      flushThenShutdownOutput(outbound);
    } else {
      if (wrote) {
        outbound.flush(); // nothing to flush otherwise (a flush walks the outbound path)
      }
      readClient();
    }
    readBackend();
  }

  private HAProxyMessage proxyHeader(ProxyProtocolVersion v) {
    InetSocketAddress source = a.source;
    boolean v4 = source.getAddress() instanceof Inet4Address;
    InetSocketAddress dst = destination;
    if ((dst.getAddress() instanceof Inet4Address) != v4) {
      // mixed families cannot be expressed; send the peer's own pair instead
      dst = new InetSocketAddress(v4 ? loopback4() : loopback6(), dst.getPort());
    }
    return new HAProxyMessage(
        v == ProxyProtocolVersion.V1 ? HAProxyProtocolVersion.V1 : HAProxyProtocolVersion.V2,
        HAProxyCommand.PROXY,
        v4 ? HAProxyProxiedProtocol.TCP4 : HAProxyProxiedProtocol.TCP6,
        source.getAddress().getHostAddress(),
        dst.getAddress().getHostAddress(),
        source.getPort(),
        dst.getPort());
  }

  private static InetAddress loopback4() {
    return InetAddress.getLoopbackAddress();
  }

  private static InetAddress loopback6() {
    try {
      return InetAddress.getByName("::1");
    } catch (java.net.UnknownHostException e) {
      throw new IllegalStateException(e);
    }
  }

  // ------------------------------------------------------------------------------------------
  // Relay, client → backend

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (msg instanceof HAProxyMessage m) {
      onProxyHeader(ctx, m);
      return;
    }
    if (!(msg instanceof ByteBuf buf) || finished) {
      ReferenceCountUtil.release(msg);
      return;
    }
    if (!connected) {
      // bytes before the backend is there (after the PROXY header, the ClientHello): hold them
      if (pending == null) {
        pending = ctx.alloc().compositeBuffer();
      }
      pending.addComponent(true, buf);
      return;
    }
    if (clientSplice != null) {
      // read the ordinary way after all (Netty does so when a splice fails): the counter counts it
      toBackend(buf);
      return;
    }
    int n = buf.readableBytes();
    fromClient += n;
    burstFromClient += n;
    lastActivity = System.nanoTime();
    listener.bytesFromClient.add(n);
    toBackend(buf);
  }

  // The backend pipeline's only outbound handler (the PROXY header encoder) passes bytes through,
  // and an unshaped client pipeline has none: relayed bytes go straight to the channel.

  private void toBackend(ByteBuf buf) {
    outbound.unsafe().write(buf, outbound.voidPromise());
  }

  private void flushBackend() {
    outbound.unsafe().flush();
  }

  private void toClient(ByteBuf buf) {
    if (directToClient) {
      inbound.unsafe().write(buf, inbound.voidPromise());
    } else {
      inbound.write(buf, inbound.voidPromise());
    }
  }

  private void readBackend() {
    outbound.unsafe().beginRead();
  }

  private void readClient() {
    if (directToClient) {
      inbound.unsafe().beginRead();
    } else {
      inbound.read(); // the shaper may hold it back
    }
  }

  private void flushClient() {
    if (directToClient) {
      inbound.unsafe().flush();
    } else {
      inbound.flush();
    }
  }

  @Override
  public void channelReadComplete(ChannelHandlerContext ctx) {
    if (!connected || finished) {
      return;
    }
    flushBackend();
    if (clientSplice != null) {
      clientSplice.readComplete();
      return;
    }
    int burst = burstFromClient;
    burstFromClient = 0;
    if (inboundDone) {
      return;
    }
    if (burst >= SPLICE_AFTER_BURST && inboundReads != null && outbound.isWritable()) {
      listener.splicedDirections.increment();
      clientSplice =
          SplicedDirection.start(
              this,
              (AbstractEpollStreamChannel) inbound,
              (AbstractEpollStreamChannel) outbound,
              inboundReads);
      return;
    }
    if (outbound.isWritable()) {
      readClient();
    } else {
      inboundReadDeferred = true;
    }
  }

  @Override
  public void channelWritabilityChanged(ChannelHandlerContext ctx) {
    // the client takes more: resume reading the backend
    if (inbound.isWritable() && outboundReadDeferred && connected && backendSplice == null) {
      outboundReadDeferred = false;
      readBackend();
    }
    ctx.fireChannelWritabilityChanged();
  }

  /** The backend takes more: resume reading the client. */
  void outboundWritable() {
    if (inboundReadDeferred && !inboundDone && clientSplice == null) {
      inboundReadDeferred = false;
      readClient();
    }
  }

  // ------------------------------------------------------------------------------------------
  // Relay, backend → client (called by BackendHandler on the same event loop)

  void fromBackend(ByteBuf buf) {
    if (backendSplice != null) {
      toClient(buf); // counted by the splice's counter
      return;
    }
    int n = buf.readableBytes();
    toClient += n;
    burstToClient += n;
    lastActivity = System.nanoTime();
    listener.bytesToClient.add(n);
    toClient(buf);
  }

  void backendReadComplete() {
    flushClient();
    if (backendSplice != null) {
      backendSplice.readComplete();
      return;
    }
    int burst = burstToClient;
    burstToClient = 0;
    if (outboundDone || finished) {
      return;
    }
    if (burst >= SPLICE_AFTER_BURST && outboundReads != null && inbound.isWritable()) {
      listener.splicedDirections.increment();
      backendSplice =
          SplicedDirection.start(
              this,
              (AbstractEpollStreamChannel) outbound,
              (AbstractEpollStreamChannel) inbound,
              outboundReads);
      return;
    }
    if (inbound.isWritable()) {
      readBackend();
    } else {
      outboundReadDeferred = true;
    }
  }

  void backendInputShutdown() {
    if (backendSplice != null) {
      backendSplice.inputShutdown(); // ends in splicedInputEnded once the queue is moved
      return;
    }
    backendInputEnded();
  }

  private void backendInputEnded() {
    outboundDone = true;
    if (inboundDone) {
      closeBoth(); // both sides are done: closing passes the FIN on
    } else if (inbound.isActive()) {
      flushThenShutdownOutput(inbound);
    }
  }

  void backendClosed() {
    closeBoth();
  }

  // ------------------------------------------------------------------------------------------
  // Spliced directions (SplicedDirection.Relay; called on this connection's event loop)

  @Override
  public void spliced(SplicedDirection d, long n) {
    lastActivity = System.nanoTime();
    if (d == clientSplice) {
      fromClient += n;
      listener.bytesFromClient.add(n);
    } else {
      toClient += n;
      listener.bytesToClient.add(n);
    }
  }

  @Override
  public void splicedInputEnded(SplicedDirection d) {
    if (finished) {
      return;
    }
    if (d == clientSplice) {
      clientInputEnded();
    } else {
      backendInputEnded();
    }
  }

  @Override
  public void spliceFailed(SplicedDirection d, Throwable cause) {
    if (!finished) {
      closeBoth();
    }
  }

  /**
   * Whether what is queued for {@code c} is all in its outbound buffer. Not for a shaped client:
   * the shaper holds writes in a queue of its own, behind which only a write through the pipeline
   * is ordered (passing the FIN or closing before it lost the bytes still held there).
   */
  private boolean nothingQueued(Channel c) {
    return (c != inbound || directToClient)
        && (c.unsafe().outboundBuffer() == null || c.unsafe().outboundBuffer().isEmpty());
  }

  /**
   * Writes out what is queued, then closes. A channel whose output is already shut down has nothing
   * queued: it is closed at once (writing to it would make an exception per connection).
   */
  private void flushThenClose(Channel c) {
    if (!outputShut(c)) {
      c.flush(); // what was written but not flushed counts as queued only after this
    }
    if (outputShut(c) || nothingQueued(c)) {
      c.close();
    } else {
      c.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
    }
  }

  /** Passes a FIN on once what is queued is written. */
  private void flushThenShutdownOutput(Channel c) {
    if (outputShut(c)) {
      return;
    }
    c.flush();
    if (nothingQueued(c)) {
      passFin(c);
    } else {
      c.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(f -> passFin(c));
    }
  }

  /**
   * Shuts {@code c}'s output down. Its own FIN, when it comes, then ends the connection: with
   * half-closure off Netty closes the channel at that EOF instead of shutting its input down too (a
   * system call that fails with an exception once both FINs are through). Not for a spliced source:
   * Netty would close it at the FIN with bytes still queued before it.
   */
  private void passFin(Channel c) {
    shutdownOutput(c);
    if ((c == inbound ? clientSplice : backendSplice) == null) {
      c.config().setOption(ChannelOption.ALLOW_HALF_CLOSURE, false);
    }
  }

  private static boolean outputShut(Channel c) {
    return c instanceof DuplexChannel d && d.isOutputShutdown();
  }

  /**
   * Sends a FIN. Under epoll the socket is shut down directly: Netty's {@code shutdownOutput()}
   * builds an exception with a stack trace on every call (to fail writes that are never queued here
   * — this runs only once nothing is).
   */
  private static void shutdownOutput(Channel c) {
    if (!c.isActive()) {
      c.close();
    } else if (c instanceof AbstractEpollStreamChannel e
        && e.fd() instanceof io.netty.channel.unix.Socket socket) {
      try {
        socket.shutdown(false, true);
      } catch (java.io.IOException failed) {
        c.close();
      }
    } else if (c instanceof DuplexChannel d) {
      d.shutdownOutput();
    } else {
      c.close();
    }
  }

  // ------------------------------------------------------------------------------------------
  // End

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    if (cause instanceof io.netty.handler.codec.haproxy.HAProxyProtocolException) {
      refuse("bad_proxy_protocol");
    } else if (cause instanceof io.netty.handler.codec.DecoderException) {
      refuse("bad_client_hello");
    } else {
      if (connected) {
        a.refuse("client_error");
      }
      closeBoth();
    }
  }

  private void refuse(String why) {
    a.refuse(why);
    closeBoth();
  }

  private void closeBoth() {
    if (inbound != null && inbound.isActive()) {
      flushThenClose(inbound);
    }
    if (outbound != null && outbound.isActive()) {
      flushThenClose(outbound);
    }
    if (inbound != null && !inbound.isActive()) {
      finish();
    }
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    if (outbound != null && outbound.isActive()) {
      flushThenClose(outbound);
    }
    finish();
  }

  private void finish() {
    if (finished) {
      return;
    }
    finished = true;
    if (headerTimeout != null) {
      headerTimeout.cancel(false);
    }
    if (pending != null) {
      pending.release();
      pending = null;
    }
    listener.connections.remove(this);
    a.finish(fromClient, toClient);
  }
}
