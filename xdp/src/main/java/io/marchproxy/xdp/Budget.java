package io.marchproxy.xdp;

/**
 * A token-bucket budget: a sustained rate per second and the burst allowed on top of it. The
 * program stores it as an interval between conforming packets and the slack the burst gives.
 */
public record Budget(long perSecond, long burst) {
  private static final long NANOS_PER_SECOND = 1_000_000_000L;
  private static final long MAX = 0xffff_ffffL;

  public Budget {
    if (perSecond < 1 || perSecond > MAX) {
      throw new IllegalArgumentException(
          "rate must be between 1 and " + MAX + " per second, got " + perSecond);
    }
    if (burst < 1 || burst > MAX) {
      throw new IllegalArgumentException("burst must be between 1 and " + MAX + ", got " + burst);
    }
  }

  /** "100/s" or "100/s:200" (rate and burst; the burst defaults to the rate). */
  public static Budget parse(String text) {
    String[] parts = text.split(":", 2);
    String rate = parts[0].endsWith("/s") ? parts[0].substring(0, parts[0].length() - 2) : parts[0];
    try {
      long perSecond = Long.parseLong(rate);
      long burst = parts.length == 2 ? Long.parseLong(parts[1]) : perSecond;
      return new Budget(perSecond, burst);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(
          "budget must look like 100/s or 100/s:200 (rate:burst), got '" + text + "'");
    }
  }

  public long intervalNanos() {
    return Math.max(1, NANOS_PER_SECOND / perSecond);
  }

  public long slackNanos() {
    return (burst - 1) * intervalNanos();
  }

  @Override
  public String toString() {
    return perSecond + "/s:" + burst;
  }
}
