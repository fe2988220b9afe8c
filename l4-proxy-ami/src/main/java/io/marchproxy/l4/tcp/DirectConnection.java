package io.marchproxy.l4.tcp;

import io.marchproxy.l4.lb.LiveEndpoint;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.IoEvent;
import io.netty.channel.IoEventLoop;
import io.netty.channel.IoRegistration;
import io.netty.channel.epoll.EpollIoEvent;
import io.netty.channel.epoll.EpollIoHandle;
import io.netty.channel.epoll.EpollIoOps;
import io.netty.channel.epoll.Native;
import io.netty.channel.unix.FileDescriptor;
import io.netty.channel.unix.Socket;
import io.netty.util.concurrent.FastThreadLocal;
import io.netty.util.concurrent.ScheduledFuture;
import java.io.IOException;
import java.net.Inet6Address;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One relayed TCP connection on plain sockets, driven by its event loop's epoll through Netty's I/O
 * handle API (decision 0308): no channel, pipeline, promise or outbound buffer per connection, and
 * the system calls of a hand-written proxy — the client's bytes are read while the backend
 * connects, each socket is added to epoll with the interest it needs, interest changes only when
 * back-pressure or a connect asks, and sockets are closed without leaving epoll first.
 *
 * <p>Bytes read are written on at once from a per-loop buffer; only what the other side cannot take
 * is copied aside, and the side that sent it is not read again until that is written
 * (back-pressure). A direction whose read burst reaches {@link FrontendHandler#SPLICE_AFTER_BURST}
 * moves to {@code splice(2)} through a pipe of its own. A FIN is passed on once everything before
 * it is written; the second FIN closes both sockets.
 */
final class DirectConnection implements TcpListener.Connection {

  private static final Logger log = LoggerFactory.getLogger(DirectConnection.class);

  private static final int IN = Native.EPOLLIN;
  private static final int OUT = Native.EPOLLOUT;
  private static final int RDHUP = Native.EPOLLRDHUP;
  private static final int ERR = Native.EPOLLERR;
  private static final int HUP = 0x010; // EPOLLHUP (Linux); Netty's Native does not name it

  /**
   * The interest of a socket that wants nothing now. Every other interest is level-triggered (Netty
   * adds no EPOLLET); this one is edge-triggered, so an error or hang-up — which epoll reports
   * whatever the interest — comes once, not at every wait. Never "no interest at all": Netty's
   * epoll handler removes the socket from epoll then, and fails a later change of interest.
   */
  private static final int PARKED = Native.EPOLLET;

  private static final int CHUNK = 64 * 1024;

  /** Reads per readiness event and direction, so one busy connection cannot starve the loop. */
  private static final int READS_PER_EVENT = 16;

  /** Bytes of one splice(2) call from a socket into a pipe (the pipe takes what fits). */
  private static final int SPLICE_CHUNK = 1 << 20;

  private static final FastThreadLocal<ByteBuffer> SCRATCH =
      new FastThreadLocal<>() {
        @Override
        protected ByteBuffer initialValue() {
          return ByteBuffer.allocateDirect(CHUNK);
        }
      };

  private final TcpListener listener;
  private final TcpListener.Policy policy;
  private final IoEventLoop loop;
  private final Admission a;
  private final Side client;
  private Side backend;

  /** Client to backend, and back. */
  private final Direction up = new Direction(true);

  private final Direction down = new Direction(false);

  private boolean connecting;
  private ScheduledFuture<?> connectTimeout;
  private boolean finished;
  private boolean interestDeferred;
  private long lastActivity = System.nanoTime();

  private DirectConnection(
      TcpListener listener, TcpListener.Policy policy, IoEventLoop loop, int fd) {
    this.listener = listener;
    this.policy = policy;
    this.loop = loop;
    this.a = new Admission(listener, policy);
    this.client = new Side(new Socket(fd));
  }

  /** Takes over a socket just accepted on {@code loop} (called on that loop). */
  static void start(
      TcpListener listener,
      TcpListener.Policy policy,
      IoEventLoop loop,
      int fd,
      InetSocketAddress peer) {
    DirectConnection c = new DirectConnection(listener, policy, loop, fd);
    try {
      c.start(peer);
    } catch (RuntimeException bug) {
      c.failedUnexpectedly(bug);
    }
  }

  private void start(InetSocketAddress peer) {
    listener.connections.add(this);
    String refused = a.enter(peer);
    if (refused == null) {
      refused = a.admit(null);
    }
    if (refused != null) {
      a.refuse(refused);
      closeBoth();
      return;
    }
    try {
      if (policy.bandwidth().tos() != 0) {
        client.socket.setTrafficClass(policy.bandwidth().tos());
      }
      client.register();
    } catch (Exception e) {
      closeBoth();
      return;
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
    InetSocketAddress to = e.address();
    Socket s;
    try {
      s = Sockets.stream(to.getAddress() instanceof Inet6Address);
    } catch (RuntimeException failed) {
      a.refuse("connect_failed");
      closeBoth();
      return;
    }
    backend = new Side(s);
    connecting = true;
    boolean now;
    try {
      s.setTcpNoDelay(true);
      s.setKeepAlive(true);
      if (policy.bandwidth().tos() != 0) {
        s.setTrafficClass(policy.bandwidth().tos());
      }
      now = s.connect(to);
      backend.register();
    } catch (Exception failed) {
      connectFailed();
      return;
    }
    long timeout = a.cluster.spec().connectTimeout().toMillis();
    if (timeout > 0) {
      connectTimeout = loop.schedule(this::connectTimedOut, timeout, TimeUnit.MILLISECONDS);
    }
    if (now) {
      connected();
    } else {
      updateInterest();
    }
  }

  private void connectTimedOut() {
    if (connecting && !finished) {
      connectFailed();
    }
  }

  private void connected() {
    connecting = false;
    cancelConnectTimeout();
    a.connected();
    try {
      // what the client sent while the backend connected; its next bytes come with the next event
      pump(up, 0, false);
    } catch (SideFailed f) {
      failed(f);
      return;
    }
    if (!finished) {
      updateInterest();
    }
  }

  private void connectFailed() {
    connecting = false;
    cancelConnectTimeout();
    a.connectFailed();
    backend.closeSocket();
    backend = null;
    if (finished) {
      return;
    }
    if (a.mayRetry()) {
      connect();
    } else {
      a.refuse("connect_failed");
      closeBoth();
    }
  }

  private void cancelConnectTimeout() {
    if (connectTimeout != null) {
      connectTimeout.cancel(false);
      connectTimeout = null;
    }
  }

  // ------------------------------------------------------------------------------------------
  // Events

  private void onEvent(Side side, int ready) {
    if (finished) {
      return;
    }
    if (side == backend && connecting) {
      if ((ready & (ERR | HUP)) != 0) {
        connectFailed();
      } else if ((ready & (OUT | IN)) != 0) {
        connected();
      }
      return;
    }
    Direction from = side == client ? up : down;
    Direction to = side == client ? down : up;
    try {
      if ((ready & OUT) != 0) {
        pump(to, 0, true);
      }
      if (!finished && (ready & (IN | RDHUP | ERR | HUP)) != 0) {
        if (from.eof) {
          side.idleInput = true; // read interest left on an ended input: drop it now
        } else {
          pump(from, ready, true);
        }
      }
    } catch (SideFailed f) {
      failed(f);
      return;
    }
    if (finished) {
      return;
    }
    if ((ready & ERR) != 0) {
      closeBoth(); // the socket is broken
      return;
    }
    // A hang-up alone (its FIN came, and ours went) closes nothing: what it sent may still be on
    // its way to the other side (held aside while the backend connected); the second FIN passed
    // on closes both. Its input has ended, so its interest becomes PARKED and epoll stops saying
    // so.
    if (side.idleInput && (ready & OUT) == 0) {
      // Only an ended input's read interest to drop: done after this round of events, by when
      // the other side's FIN (often in the same round) has usually closed both sockets.
      if (!interestDeferred) {
        interestDeferred = true;
        loop.execute(this::deferredInterest);
      }
    } else {
      updateInterest();
    }
  }

  private void deferredInterest() {
    interestDeferred = false;
    if (!finished) {
      updateInterest();
    }
  }

  /** A socket failed (reset, broken pipe): both are closed; a client's failure is its verdict. */
  private void failed(SideFailed f) {
    if (f.side == client) {
      a.refuse("client_error");
    }
    closeBoth();
  }

  /**
   * Moves what it can of one direction: first what waits (in the pipe, or copied aside), then, if
   * {@code read}, new bytes from the source, written on as they come. {@code ready} is the source's
   * readiness when this runs for a source event, else 0.
   */
  private void pump(Direction d, int ready, boolean read) throws SideFailed {
    Side src = d.up ? client : backend;
    Side dst = d.up ? backend : client;
    if (dst == null || (d.up && connecting)) {
      if (!d.eof && readsAside(d)) {
        readAside(d, src); // the backend is not there yet: hold what the client sends
      }
      return;
    }
    if (d.piped > 0 && !drainPipe(d, dst)) {
      return;
    }
    if (d.queued != null && !writeQueued(d, dst)) {
      return;
    }
    if (d.eof || !read) {
      // nothing more to read now
    } else if (d.pipeIn != null) {
      splice(d, src, dst, ready);
    } else {
      copy(d, src, dst, ready);
    }
    if (d.eof && d.queued == null && d.piped == 0) {
      passFin(d, dst);
    }
  }

  /** While the backend connects the client is read up to one chunk ahead, kept aside. */
  private boolean readsAside(Direction d) {
    return d.up
        && (backend == null || connecting)
        && (d.queued == null || d.queued.readableBytes() < CHUNK);
  }

  /** Reads what the client sent and keeps it (the backend is not connected yet). */
  private void readAside(Direction d, Side src) throws SideFailed {
    ByteBuffer buf = SCRATCH.get();
    int room = d.queued == null ? CHUNK : CHUNK - d.queued.readableBytes();
    int n = src.recv(buf, room);
    if (n > 0) {
      counted(d, n);
      if (d.queued == null) {
        d.queued = copyAside(buf, 0, n);
      } else {
        d.queued.writeBytes(buf.duplicate().position(0).limit(n));
      }
    } else if (n < 0) {
      d.eof = true;
    }
  }

  /**
   * Reads and writes on until the source is empty. {@code ready}: with the peer's FIN reported, a
   * short read took the last bytes before it, so the end is known without another read.
   */
  private void copy(Direction d, Side src, Side dst, int ready) throws SideFailed {
    ByteBuffer buf = SCRATCH.get();
    int burst = 0;
    for (int i = 0; i < READS_PER_EVENT; i++) {
      int n = src.recv(buf, CHUNK);
      if (n == 0) {
        break; // nothing more now
      }
      if (n < 0) {
        d.eof = true;
        break;
      }
      counted(d, n);
      burst += n;
      int written = dst.send(buf, 0, n);
      if (written < n) {
        d.queued = copyAside(buf, written, n);
        return; // back-pressure: the source is read again once this is written
      }
      if (n < CHUNK) {
        // the socket is empty now: at the peer's FIN that is the end, else epoll says when more
        if ((ready & RDHUP) != 0) {
          d.eof = true;
        }
        break;
      }
    }
    if (burst >= FrontendHandler.SPLICE_AFTER_BURST
        && policy.splice()
        && !d.eof
        && d.pipeIn == null) {
      try {
        FileDescriptor[] pipe = FileDescriptor.pipe();
        d.pipeOut = pipe[0];
        d.pipeIn = pipe[1];
        listener.splicedDirections.increment();
      } catch (IOException noPipe) {
        // e.g. out of file descriptors: this direction goes on being copied
      }
    }
  }

  private void splice(Direction d, Side src, Side dst, int ready) throws SideFailed {
    for (int i = 0; i < READS_PER_EVENT && !d.eof; i++) {
      int n = src.spliceInto(d.pipeIn);
      if (n == 0) {
        // EAGAIN and EOF both read as 0; at a hang-up a read says which
        if ((ready & (RDHUP | HUP)) != 0) {
          copy(d, src, dst, 0);
        }
        return;
      }
      counted(d, n);
      d.piped += n;
      if (!drainPipe(d, dst)) {
        return;
      }
    }
  }

  /** Splices the pipe's bytes into {@code dst}; false while some are left (dst is full). */
  private static boolean drainPipe(Direction d, Side dst) throws SideFailed {
    while (d.piped > 0) {
      int n = dst.spliceFrom(d.pipeOut, d.piped);
      if (n == 0) {
        return false;
      }
      d.piped -= n;
    }
    return true;
  }

  private static boolean writeQueued(Direction d, Side dst) throws SideFailed {
    ByteBuf q = d.queued;
    ByteBuffer nio = q.internalNioBuffer(q.readerIndex(), q.readableBytes());
    int n = dst.send(nio, nio.position(), nio.limit());
    q.skipBytes(n);
    if (q.isReadable()) {
      return false;
    }
    q.release();
    d.queued = null;
    return true;
  }

  private static ByteBuf copyAside(ByteBuffer buf, int from, int to) {
    ByteBuf q = PooledByteBufAllocator.DEFAULT.directBuffer(to - from);
    q.writeBytes(buf.duplicate().position(from).limit(to));
    return q;
  }

  private void counted(Direction d, int n) {
    lastActivity = System.nanoTime();
    d.bytes += n;
    (d.up ? listener.bytesFromClient : listener.bytesToClient).add(n);
  }

  /**
   * The source's FIN, after everything before it: passed on, or both closed if it is the second.
   */
  private void passFin(Direction d, Side dst) throws SideFailed {
    if (d.finSent) {
      return;
    }
    d.finSent = true;
    Direction other = d.up ? down : up;
    if (other.finSent) {
      closeBoth();
    } else {
      dst.shutdownOutput();
    }
  }

  // ------------------------------------------------------------------------------------------
  // Interest

  private void updateInterest() {
    client.want(interest(client, up, down));
    if (backend != null) {
      backend.want(connecting ? IN | OUT | RDHUP : interest(backend, down, up));
    }
  }

  private int interest(Side side, Direction from, Direction to) {
    int ops = 0;
    if (!from.eof) {
      if (from.piped == 0 && (from.queued == null || readsAside(from))) {
        ops |= IN | RDHUP;
      }
    } else if (!side.idleInput && (side.ops & IN) != 0) {
      ops |= side.ops & (IN | RDHUP); // left as it was until it fires once more (usually never)
    }
    if (to.queued != null || to.piped > 0) {
      ops |= OUT;
    }
    return ops == 0 ? PARKED : ops;
  }

  // ------------------------------------------------------------------------------------------
  // End

  @Override
  public void checkIdle(long now) {
    if (a.idleAt(now, lastActivity)) {
      loop.execute(this::closeIfIdle);
    }
  }

  private void closeIfIdle() {
    if (!finished && a.idleAt(System.nanoTime(), lastActivity)) {
      a.verdict = "idle_timeout";
      closeBoth();
    }
  }

  @Override
  public void closeDrained() {
    loop.execute(
        () -> {
          a.drained = true;
          closeBoth();
        });
  }

  /**
   * A bug (not a socket's failure) reached the connection: it is closed and logged, and the event
   * loop goes on with its other sockets' events instead of dropping them.
   */
  private void failedUnexpectedly(RuntimeException bug) {
    log.warn("listener {}: closing a connection after an unexpected error", listener.name, bug);
    a.refuse("internal_error");
    closeBoth();
  }

  private void closeBoth() {
    if (finished) {
      return;
    }
    finished = true;
    cancelConnectTimeout();
    up.release();
    down.release();
    listener.connections.remove(this);
    a.finish(up.bytes, down.bytes);
    // The sockets are closed after this round of events. Netty finds an event's handle by its fd
    // number: a socket closed now could have its number reused by an accept later in the round,
    // and an event already fetched for it (its peer's other event) would reach the new socket.
    try {
      loop.execute(this::closeSockets);
    } catch (java.util.concurrent.RejectedExecutionException shuttingDown) {
      closeSockets();
    }
  }

  private void closeSockets() {
    client.closeSocket();
    if (backend != null) {
      backend.closeSocket();
    }
  }

  /** One direction's bytes on their way: aside in a buffer or in its pipe, and its FIN. */
  private static final class Direction {
    final boolean up;
    ByteBuf queued;

    /** Its pipe's two ends, once spliced: bytes go in from the source, out to the destination. */
    FileDescriptor pipeIn;

    FileDescriptor pipeOut;
    int piped;
    boolean eof;
    boolean finSent;
    long bytes;

    Direction(boolean up) {
      this.up = up;
    }

    void release() {
      if (queued != null) {
        queued.release();
        queued = null;
      }
      closeQuietly(pipeIn);
      closeQuietly(pipeOut);
      pipeIn = null;
      pipeOut = null;
    }
  }

  private static void closeQuietly(FileDescriptor fd) {
    if (fd != null) {
      try {
        fd.close();
      } catch (IOException ignored) {
        // nothing to do: it is gone either way
      }
    }
  }

  /** One socket of the connection, as its event loop's epoll sees it. */
  private final class Side implements EpollIoHandle {
    final Socket socket;
    IoRegistration registration;
    int ops = -1;

    /** An event came for an input that had ended: its read interest can go. */
    boolean idleInput;

    Side(Socket socket) {
      this.socket = socket;
    }

    void register() throws Exception {
      registration = loop.register(this).getNow();
      if (registration == null) {
        throw new IOException("not registered on the event loop");
      }
    }

    /** Reads up to {@code len} bytes into {@code buf} from 0: >0 read, 0 none now, -1 EOF. */
    int recv(ByteBuffer buf, int len) throws SideFailed {
      try {
        return socket.recv(buf, 0, len);
      } catch (IOException e) {
        throw new SideFailed(this, e);
      }
    }

    /** Writes as much of {@code buf[from, to)} as the socket takes now; returns how much. */
    int send(ByteBuffer buf, int from, int to) throws SideFailed {
      int at = from;
      try {
        while (at < to) {
          int n = socket.send(buf, at, to);
          if (n <= 0) {
            break;
          }
          at += n;
        }
      } catch (IOException e) {
        throw new SideFailed(this, e);
      }
      return at - from;
    }

    /** Moves what this socket has into {@code pipe}; 0 when none now or at EOF. */
    int spliceInto(FileDescriptor pipe) throws SideFailed {
      try {
        return Native.splice(socket.intValue(), -1, pipe.intValue(), -1, SPLICE_CHUNK);
      } catch (IOException e) {
        throw new SideFailed(this, e);
      }
    }

    /** Moves up to {@code len} bytes from {@code pipe} into this socket; 0 when it is full. */
    int spliceFrom(FileDescriptor pipe, int len) throws SideFailed {
      try {
        return Native.splice(pipe.intValue(), -1, socket.intValue(), -1, len);
      } catch (IOException e) {
        throw new SideFailed(this, e);
      }
    }

    void shutdownOutput() throws SideFailed {
      try {
        socket.shutdown(false, true);
      } catch (IOException e) {
        throw new SideFailed(this, e);
      }
    }

    void want(int next) {
      if (next != ops && registration != null) {
        ops = next;
        registration.submit(EpollIoOps.valueOf(next));
      }
    }

    /** Closed first, then forgotten: closing takes the socket out of epoll by itself. */
    void closeSocket() {
      closeQuietly(socket);
      if (registration != null) {
        registration.cancel();
        registration = null;
      }
    }

    @Override
    public FileDescriptor fd() {
      return socket;
    }

    @Override
    public void handle(IoRegistration registration, IoEvent event) {
      try {
        onEvent(this, ((EpollIoEvent) event).ops().value());
      } catch (RuntimeException bug) {
        failedUnexpectedly(bug);
      }
    }

    /** The event loop is shutting down (Netty calls this on the loop). */
    @Override
    public void close() {
      closeBoth();
    }
  }

  /** A system call on one socket of the connection failed (no stack trace: it is not a bug). */
  private static final class SideFailed extends IOException {
    final transient Side side;

    SideFailed(Side side, IOException cause) {
      super(cause.getMessage(), cause);
      this.side = side;
    }

    @Override
    public synchronized Throwable fillInStackTrace() {
      return this;
    }
  }
}
