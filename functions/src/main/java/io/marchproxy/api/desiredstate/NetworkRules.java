package io.marchproxy.api.desiredstate;

import java.math.BigInteger;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.regex.Pattern;

/** Syntax of hosts, addresses and CIDRs as the API accepts them (no DNS lookups). */
public final class NetworkRules {

  private static final Pattern LABEL =
      Pattern.compile("^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$");
  private static final Pattern IPV4 =
      Pattern.compile(
          "^((25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)\\.){3}(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)$");
  private static final Pattern IPV6_CHARS = Pattern.compile("^[0-9a-fA-F:.]{2,45}$");

  private NetworkRules() {}

  public static boolean isHostname(String s) {
    if (s == null || s.isEmpty() || s.length() > 253) {
      return false;
    }
    for (String label : s.split("\\.", -1)) {
      if (!LABEL.matcher(label).matches()) {
        return false;
      }
    }
    return true;
  }

  /** A route host: a hostname, {@code *.example.com}, or {@code *}; an optional :port. */
  public static boolean isRouteHost(String s) {
    if (s == null) {
      return false;
    }
    String host = s;
    int colon = s.lastIndexOf(':');
    if (colon > 0 && !s.contains("]")) {
      try {
        int port = Integer.parseInt(s.substring(colon + 1));
        if (port < 1 || port > 65535) {
          return false;
        }
      } catch (NumberFormatException e) {
        return false;
      }
      host = s.substring(0, colon);
    }
    if (host.equals("*")) {
      return true;
    }
    if (host.startsWith("*.")) {
      host = host.substring(2);
    }
    return isHostname(host);
  }

  public static boolean isIp(String s) {
    if (s == null) {
      return false;
    }
    if (IPV4.matcher(s).matches()) {
      return true;
    }
    if (!s.contains(":") || !IPV6_CHARS.matcher(s).matches()) {
      return false;
    }
    try {
      return InetAddress.getByName(s).getAddress().length == 16;
    } catch (UnknownHostException e) {
      return false;
    }
  }

  public static boolean isHostOrIp(String s) {
    return isIp(s) || isHostname(s);
  }

  /** An IPv4 or IPv6 CIDR whose host bits are zero ({@code 10.0.0.0/8}, {@code 2001:db8::/32}). */
  public static boolean isCidr(String s) {
    if (s == null) {
      return false;
    }
    int slash = s.indexOf('/');
    if (slash < 0) {
      return false;
    }
    String addr = s.substring(0, slash);
    if (!isIp(addr)) {
      return false;
    }
    int bits;
    try {
      bits = Integer.parseInt(s.substring(slash + 1));
    } catch (NumberFormatException e) {
      return false;
    }
    try {
      byte[] raw = InetAddress.getByName(addr).getAddress();
      int max = raw.length * 8;
      if (bits < 0 || bits > max) {
        return false;
      }
      BigInteger value = new BigInteger(1, raw);
      BigInteger hostMask = BigInteger.ONE.shiftLeft(max - bits).subtract(BigInteger.ONE);
      return value.and(hostMask).signum() == 0;
    } catch (UnknownHostException e) {
      return false;
    }
  }
}
