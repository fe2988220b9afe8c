package io.marchproxy.xdp;

/**
 * The counters at their indexes in the per-CPU array `mp_counters`; the order is the contract with
 * counters.h (a test checks the two agree). Each packet bumps exactly one verdict counter.
 */
public enum Counter {
  PASS_NOT_IP(Kind.VERDICT),
  PASS_MALFORMED(Kind.VERDICT),
  PASS_NOT_COVERED(Kind.VERDICT),
  PASS_DISABLED(Kind.VERDICT),
  PASS_ALLOWLIST(Kind.VERDICT),
  PASS(Kind.VERDICT),
  DROP_DENYLIST(Kind.VERDICT),
  DROP_RATE_LIMIT(Kind.VERDICT),
  DROP_SYN_LIMIT(Kind.VERDICT),
  DROP_NEW_SOURCE_CAP(Kind.VERDICT),
  NEW_SOURCE(Kind.EVENT),
  CLASS_HTTP_GET(Kind.CLASSIFICATION),
  CLASS_HTTP_POST(Kind.CLASSIFICATION),
  CLASS_HTTP_PUT(Kind.CLASSIFICATION),
  CLASS_HTTP_DELETE(Kind.CLASSIFICATION),
  CLASS_HTTP_HEAD(Kind.CLASSIFICATION),
  CLASS_HTTP_OPTIONS(Kind.CLASSIFICATION),
  CLASS_HTTP_PATCH(Kind.CLASSIFICATION),
  CLASS_HTTP_CONNECT(Kind.CLASSIFICATION),
  CLASS_TLS_CLIENT_HELLO(Kind.CLASSIFICATION),
  CLASS_HTTP2_PREFACE(Kind.CLASSIFICATION),
  CLASS_OTHER(Kind.CLASSIFICATION);

  public enum Kind {
    VERDICT,
    EVENT,
    CLASSIFICATION
  }

  private final Kind kind;

  Counter(Kind kind) {
    this.kind = kind;
  }

  public Kind kind() {
    return kind;
  }

  public int index() {
    return ordinal();
  }

  public boolean isDrop() {
    return name().startsWith("DROP_");
  }

  /** The name operators see in `stats` and metrics: pass_not_ip, drop_rate_limit, ... */
  public String metricName() {
    return name().toLowerCase(java.util.Locale.ROOT);
  }
}
