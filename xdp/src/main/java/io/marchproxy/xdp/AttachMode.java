package io.marchproxy.xdp;

/** Where the program runs: in the driver (native) or after the SKB is built (generic). */
public enum AttachMode {
  NATIVE(1 << 2),
  GENERIC(1 << 1);

  private final int flag;

  AttachMode(int flag) {
    this.flag = flag;
  }

  /** The XDP_FLAGS_*_MODE value. */
  int flag() {
    return flag;
  }
}
