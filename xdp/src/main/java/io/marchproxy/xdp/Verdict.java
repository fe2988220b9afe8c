package io.marchproxy.xdp;

/** XDP return codes. The MarchProxy program only returns PASS and DROP. */
public enum Verdict {
  ABORTED,
  DROP,
  PASS,
  TX,
  REDIRECT;

  public static Verdict of(int code) {
    Verdict[] all = values();
    if (code < 0 || code >= all.length) {
      throw new IllegalArgumentException("unknown XDP return code " + code);
    }
    return all[code];
  }
}
