package io.marchproxy.xds.validate;

import java.util.regex.Pattern;

/** CIDR syntax as Envoy's CidrRange needs it: an IP literal and a prefix length that fits it. */
final class Cidrs {

  private static final Pattern IPV4 =
      Pattern.compile("^(25[0-5]|2[0-4]\\d|1?\\d?\\d)(\\.(25[0-5]|2[0-4]\\d|1?\\d?\\d)){3}$");
  private static final Pattern IPV6 = Pattern.compile("^[0-9a-fA-F:.]+$");

  private Cidrs() {}

  static boolean valid(String cidr) {
    if (cidr == null) {
      return false;
    }
    int slash = cidr.indexOf('/');
    if (slash < 0) {
      return false;
    }
    String address = cidr.substring(0, slash);
    int bits;
    try {
      bits = Integer.parseInt(cidr.substring(slash + 1));
    } catch (NumberFormatException e) {
      return false;
    }
    return validPrefix(address, bits);
  }

  static boolean validPrefix(String address, int bits) {
    if (IPV4.matcher(address).matches()) {
      return bits >= 0 && bits <= 32;
    }
    return address.contains(":") && IPV6.matcher(address).matches() && bits >= 0 && bits <= 128;
  }
}
