package io.marchproxy.l4.policy;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;

/** An address prefix; an IPv4 source seen as IPv4-mapped IPv6 matches IPv4 prefixes. */
public record Cidr(byte[] prefix, int length) {

  public Cidr {
    if (length < 0 || length > prefix.length * 8) {
      throw new IllegalArgumentException("prefix length " + length + " out of range");
    }
  }

  /** Parses an IP literal (never a hostname) and a prefix length. */
  public static Cidr of(String address, int length) {
    if (address.isEmpty() || !(address.contains(":") || address.matches("[0-9.]+"))) {
      throw new IllegalArgumentException("not an IP address: " + address);
    }
    try {
      return new Cidr(InetAddress.getByName(address).getAddress(), length);
    } catch (UnknownHostException e) {
      throw new IllegalArgumentException("not an IP address: " + address);
    }
  }

  public boolean contains(InetAddress address) {
    byte[] a = normalize(address);
    if (a.length != prefix.length) {
      return false;
    }
    int full = length / 8;
    for (int i = 0; i < full; i++) {
      if (a[i] != prefix[i]) {
        return false;
      }
    }
    int rest = length % 8;
    if (rest == 0) {
      return true;
    }
    int mask = (0xff << (8 - rest)) & 0xff;
    return (a[full] & mask) == (prefix[full] & mask);
  }

  static byte[] normalize(InetAddress address) {
    byte[] a = address.getAddress();
    if (address instanceof Inet6Address && isMappedV4(a)) {
      byte[] v4 = new byte[4];
      System.arraycopy(a, 12, v4, 0, 4);
      return v4;
    }
    return a;
  }

  private static boolean isMappedV4(byte[] a) {
    for (int i = 0; i < 10; i++) {
      if (a[i] != 0) {
        return false;
      }
    }
    return (a[10] & 0xff) == 0xff && (a[11] & 0xff) == 0xff;
  }

  @Override
  public String toString() {
    try {
      InetAddress a =
          prefix.length == 4
              ? Inet4Address.getByAddress(prefix)
              : Inet6Address.getByAddress(prefix);
      return a.getHostAddress() + "/" + length;
    } catch (UnknownHostException e) {
      throw new IllegalStateException(e);
    }
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Cidr c && c.length == length && java.util.Arrays.equals(c.prefix, prefix);
  }

  @Override
  public int hashCode() {
    return java.util.Arrays.hashCode(prefix) * 31 + length;
  }
}
