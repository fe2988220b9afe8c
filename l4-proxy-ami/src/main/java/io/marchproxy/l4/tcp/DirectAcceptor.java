package io.marchproxy.l4.tcp;

import io.netty.channel.IoEvent;
import io.netty.channel.IoEventLoop;
import io.netty.channel.IoRegistration;
import io.netty.channel.epoll.EpollIoHandle;
import io.netty.channel.epoll.EpollIoOps;
import io.netty.channel.unix.FileDescriptor;
import io.netty.channel.unix.NativeInetAddress;
import io.netty.channel.unix.Socket;
import java.io.IOException;
import java.net.Inet6Address;
import java.net.InetSocketAddress;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One listening socket of a TCP listener under epoll, registered on one event loop through Netty's
 * I/O handle API. Each accepted socket becomes a {@link DirectConnection}, or a Netty channel when
 * the listener's policy needs a pipeline (decision 0308).
 */
final class DirectAcceptor implements EpollIoHandle {

  private static final Logger log = LoggerFactory.getLogger(DirectAcceptor.class);

  /** Accepts per readiness event, so one busy listener cannot starve the loop's other sockets. */
  private static final int ACCEPTS_PER_EVENT = 64;

  private final TcpListener listener;
  private final IoEventLoop loop;
  private final Socket socket;
  private final InetSocketAddress local;

  /** accept(2) fills it: the length, then the address and port, as Netty's native code lays out. */
  private final byte[] accepted = new byte[26];

  /** How long accepting pauses when accept(2) fails (out of file descriptors, mostly). */
  private static final long PAUSE_MILLIS = 1000;

  private IoRegistration registration;
  private boolean closed;

  private DirectAcceptor(
      TcpListener listener, IoEventLoop loop, Socket socket, InetSocketAddress local) {
    this.listener = listener;
    this.loop = loop;
    this.socket = socket;
    this.local = local;
  }

  /** Binds and listens on {@code address} and starts accepting on {@code loop}. */
  static DirectAcceptor bind(TcpListener listener, IoEventLoop loop, InetSocketAddress address)
      throws Exception {
    Socket s = Sockets.stream(address.getAddress() instanceof Inet6Address);
    try {
      s.setReuseAddress(true);
      s.setReusePort(true);
      // Linux copies both to every accepted socket: no setsockopt per connection
      s.setKeepAlive(true);
      s.setTcpNoDelay(true);
      s.bind(address);
      s.listen(TcpListener.BACKLOG);
      DirectAcceptor a = new DirectAcceptor(listener, loop, s, s.localAddress());
      a.registration = loop.register(a).sync().getNow();
      a.registration.submit(EpollIoOps.EPOLLIN);
      return a;
    } catch (Exception e) {
      s.close();
      throw e;
    }
  }

  InetSocketAddress localAddress() {
    return local;
  }

  @Override
  public FileDescriptor fd() {
    return socket;
  }

  @Override
  public void handle(IoRegistration registration, IoEvent event) {
    for (int i = 0; i < ACCEPTS_PER_EVENT; i++) {
      int fd;
      try {
        fd = socket.accept(accepted);
      } catch (IOException e) {
        pause(e);
        return;
      }
      if (fd < 0) {
        return; // nothing more queued
      }
      TcpListener.Policy p = listener.policy();
      if (p.direct()) {
        DirectConnection.start(
            listener, p, loop, fd, NativeInetAddress.address(accepted, 1, accepted[0]));
      } else {
        listener.acceptIntoPipeline(fd, loop);
      }
    }
  }

  /**
   * accept(2) failed — out of file descriptors, mostly (EMFILE, ENFILE). The connection stays
   * queued and the socket readable, and epoll would report it at every wait (a loop spinning at
   * 100% until a descriptor frees), so accepting pauses for a second, as Netty's own acceptor does.
   */
  private void pause(IOException e) {
    log.warn(
        "listener {}: accept failed ({}); pausing accepts for {} ms",
        listener.name,
        e.getMessage(),
        PAUSE_MILLIS);
    registration.submit(EpollIoOps.EPOLLET); // nothing wanted; see DirectConnection.PARKED
    loop.schedule(this::resume, PAUSE_MILLIS, java.util.concurrent.TimeUnit.MILLISECONDS);
  }

  private void resume() {
    if (!closed) {
      registration.submit(EpollIoOps.EPOLLIN);
    }
  }

  /** Stops accepting: the socket is closed (which also takes it out of epoll) on its loop. */
  @Override
  public void close() {
    if (loop.inEventLoop() || loop.isShuttingDown()) {
      close0();
    } else {
      loop.submit(this::close0).syncUninterruptibly();
    }
  }

  private void close0() {
    closed = true;
    try {
      socket.close();
    } catch (IOException e) {
      log.debug("listener {}: closing a listening socket: {}", listener.name, e.getMessage());
    }
    if (registration != null) {
      registration.cancel();
    }
  }
}
