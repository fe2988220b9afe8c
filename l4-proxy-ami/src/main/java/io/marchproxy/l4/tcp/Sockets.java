package io.marchproxy.l4.tcp;

import io.netty.channel.unix.Socket;

/** New non-blocking stream sockets of the family an address needs (Netty keeps this protected). */
final class Sockets extends Socket {

  private Sockets(int fd) {
    super(fd); // never made: the class is only a way to reach the protected factory
  }

  /** A non-blocking TCP socket: IPv6 (dual-stack) when {@code ipv6}, else IPv4. */
  static Socket stream(boolean ipv6) {
    return new Socket(newSocketStream0(ipv6));
  }
}
