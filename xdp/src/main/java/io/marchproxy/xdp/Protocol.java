package io.marchproxy.xdp;

/** The transport protocols a port can be protected for; bits of the `mp_ports` values. */
public enum Protocol {
  TCP(1),
  UDP(2);

  private final int bit;

  Protocol(int bit) {
    this.bit = bit;
  }

  int bit() {
    return bit;
  }
}
