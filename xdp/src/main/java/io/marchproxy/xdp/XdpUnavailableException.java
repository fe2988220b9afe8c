package io.marchproxy.xdp;

/**
 * XDP cannot be used on this host at all. Callers (the L4 proxy, the Envoy entrypoint) catch this,
 * keep running without the fast path and report {@link #reason()} and the message.
 */
public final class XdpUnavailableException extends XdpException {

  /** Why, in the terms an operator fixes it by. */
  public enum Reason {
    /** libbpf.so.1 is not installed or could not be loaded. */
    LIBBPF_MISSING,
    /** The process lacks CAP_BPF/CAP_NET_ADMIN (or CAP_SYS_ADMIN) or the memlock limit. */
    NOT_PERMITTED,
    /** The kernel lacks a program type, map type or helper the program needs. */
    KERNEL_FEATURE_MISSING,
    /** The BPF filesystem for pinning is not mounted and could not be mounted. */
    BPFFS_UNAVAILABLE,
  }

  private final Reason reason;

  public XdpUnavailableException(Reason reason, String message) {
    super(message);
    this.reason = reason;
  }

  public Reason reason() {
    return reason;
  }
}
