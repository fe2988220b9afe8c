package io.marchproxy.xdp;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;

/**
 * An IPv4 or IPv6 network for the allow and deny lists. The tries key both families as 16 bytes,
 * IPv4 in its IPv4-mapped form, so an IPv4 /24 is stored as prefix length 96 + 24.
 */
public record Cidr(InetAddress network, int prefixLength) {

  public Cidr {
    int max = network instanceof Inet4Address ? 32 : 128;
    if (prefixLength < 0 || prefixLength > max) {
      throw new IllegalArgumentException(
          "prefix length must be 0.." + max + " for " + network.getHostAddress());
    }
    network = masked(network, prefixLength);
  }

  /** "10.0.0.0/8", "2001:db8::/32", or a bare address (a /32 or /128). Literals only, no DNS. */
  public static Cidr parse(String text) {
    String[] parts = text.trim().split("/", 2);
    InetAddress address = literal(parts[0], text);
    int max = address instanceof Inet4Address ? 32 : 128;
    int length;
    try {
      length = parts.length == 2 ? Integer.parseInt(parts[1]) : max;
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("not a CIDR: '" + text + "' (prefix length)");
    }
    return new Cidr(address, length);
  }

  private static InetAddress literal(String host, String text) {
    boolean looksLiteral = host.contains(":") || host.matches("[0-9.]+");
    if (!looksLiteral || host.isEmpty()) {
      throw new IllegalArgumentException("not a CIDR: '" + text + "' (address)");
    }
    try {
      return InetAddress.getByName(host);
    } catch (UnknownHostException e) {
      throw new IllegalArgumentException("not a CIDR: '" + text + "' (address)");
    }
  }

  private static InetAddress masked(InetAddress address, int length) {
    byte[] bytes = address.getAddress();
    for (int bit = length; bit < bytes.length * 8; bit++) {
      bytes[bit / 8] &= (byte) ~(0x80 >>> (bit % 8));
    }
    try {
      return InetAddress.getByAddress(bytes);
    } catch (UnknownHostException e) {
      throw new IllegalStateException(e);
    }
  }

  boolean isIpv4() {
    return network instanceof Inet4Address;
  }

  /** Back from a trie key: the address bytes (4 or 16) and the prefix length. */
  static Cidr fromKey(byte[] address, int prefixLength) {
    try {
      return new Cidr(
          address.length == 4
              ? InetAddress.getByAddress(address)
              : Inet6Address.getByAddress(null, address, null),
          prefixLength);
    } catch (UnknownHostException e) {
      throw new IllegalStateException(e);
    }
  }

  @Override
  public String toString() {
    return network.getHostAddress() + "/" + prefixLength;
  }
}
