package io.marchproxy.l4.net;

import io.netty.channel.Channel;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollDatagramChannel;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketProtocolFamily;
import io.netty.channel.socket.nio.NioDatagramChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import java.net.Inet4Address;
import java.net.InetAddress;

/** Native epoll where the kernel and the native library allow it, NIO elsewhere. */
public record Transport(
    String name,
    IoHandlerFactory ioHandlers,
    Class<? extends ServerChannel> serverChannel,
    Class<? extends Channel> socketChannel,
    Class<? extends Channel> datagramChannel) {

  public static Transport best() {
    if (!"nio".equals(System.getenv("MARCHPROXY_L4_TRANSPORT")) && Epoll.isAvailable()) {
      return epoll();
    }
    return nio();
  }

  public static Transport epoll() {
    return new Transport(
        "epoll",
        EpollIoHandler.newFactory(),
        EpollServerSocketChannel.class,
        EpollSocketChannel.class,
        EpollDatagramChannel.class);
  }

  public static Transport nio() {
    return new Transport(
        "nio",
        NioIoHandler.newFactory(),
        NioServerSocketChannel.class,
        NioSocketChannel.class,
        NioDatagramChannel.class);
  }

  public boolean isEpoll() {
    return name.equals("epoll");
  }

  /** A new, unregistered client socket channel of this transport (no reflection, no bootstrap). */
  public Channel newSocketChannel() {
    return isEpoll() ? new EpollSocketChannel() : new NioSocketChannel();
  }

  /**
   * A new, unregistered client socket channel for connecting to {@code to}. Under epoll an IPv4
   * address gets an IPv4 socket: Netty's default is a dual-stack IPv6 socket, which costs an {@code
   * IPV6_V6ONLY} call per connection and takes the kernel's v4-mapped path.
   */
  public Channel newSocketChannel(InetAddress to) {
    if (isEpoll() && to instanceof Inet4Address) {
      return new EpollSocketChannel(SocketProtocolFamily.INET);
    }
    return newSocketChannel();
  }

  public EventLoopGroup newGroup(int threads) {
    return new MultiThreadIoEventLoopGroup(threads, ioHandlers);
  }
}
