package io.marchproxy.xdp;

import java.io.ByteArrayOutputStream;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Builds Ethernet frames byte by byte for BPF_PROG_TEST_RUN: VLAN tags, IPv4 (with options), IPv6
 * (with extension headers), TCP (with flags and options), UDP and a payload. Checksums are left
 * zero: XDP runs before anything verifies them.
 */
final class TestFrame {
  static final int ETH_IPV4 = 0x0800;
  static final int ETH_IPV6 = 0x86dd;
  static final int ETH_ARP = 0x0806;
  static final int ETH_8021Q = 0x8100;
  static final int ETH_8021AD = 0x88a8;
  static final int HOPOPTS = 0;
  static final int ROUTING = 43;
  static final int FRAGMENT = 44;
  static final int DSTOPTS = 60;
  static final int AH = 51;
  static final int TCP = 6;
  static final int UDP = 17;
  static final int ICMP = 1;

  private record VlanTag(int tpid, int vid) {}

  private record ExtHeader(int type, int lengthBytes, int fragmentOffset) {}

  private final List<VlanTag> vlans = new ArrayList<>();
  private final List<ExtHeader> extHeaders = new ArrayList<>();
  private int etherType = ETH_IPV4;
  private InetAddress src;
  private InetAddress dst;
  private int l4 = -1;
  private int srcPort = 40000;
  private int dstPort;
  private int tcpFlags = 0x10; // ACK
  private int tcpOptionBytes;
  private int ipv4OptionBytes;
  private int ipv4FragmentOffset;
  private byte[] payload = new byte[0];
  private int truncateTo = -1;

  static TestFrame ipv4(String from, String to) {
    TestFrame f = new TestFrame();
    f.etherType = ETH_IPV4;
    f.src = address(from);
    f.dst = address(to);
    return f;
  }

  static TestFrame ipv6(String from, String to) {
    TestFrame f = new TestFrame();
    f.etherType = ETH_IPV6;
    f.src = address(from);
    f.dst = address(to);
    return f;
  }

  /** A frame that is not IP at all (ARP), padded to the Ethernet minimum. */
  static TestFrame arp() {
    TestFrame f = new TestFrame();
    f.etherType = ETH_ARP;
    f.payload = new byte[28];
    return f;
  }

  private static InetAddress address(String literal) {
    try {
      return InetAddress.getByName(literal);
    } catch (UnknownHostException e) {
      throw new IllegalArgumentException(e);
    }
  }

  TestFrame vlan(int vid) {
    vlans.add(new VlanTag(ETH_8021Q, vid));
    return this;
  }

  /** 802.1ad outer tag (service VLAN); follow it with vlan() for the customer tag. */
  TestFrame serviceVlan(int vid) {
    vlans.add(new VlanTag(ETH_8021AD, vid));
    return this;
  }

  TestFrame tcp(int dstPort) {
    this.l4 = TCP;
    this.dstPort = dstPort;
    return this;
  }

  TestFrame udp(int dstPort) {
    this.l4 = UDP;
    this.dstPort = dstPort;
    return this;
  }

  TestFrame icmp() {
    this.l4 = ICMP;
    return this;
  }

  TestFrame syn() {
    tcpFlags = 0x02;
    return this;
  }

  TestFrame synAck() {
    tcpFlags = 0x12;
    return this;
  }

  TestFrame srcPort(int port) {
    srcPort = port;
    return this;
  }

  TestFrame tcpOptions(int bytes) {
    tcpOptionBytes = bytes;
    return this;
  }

  TestFrame ipv4Options(int bytes) {
    ipv4OptionBytes = bytes;
    return this;
  }

  TestFrame ipv4Fragment(int offsetUnits) {
    ipv4FragmentOffset = offsetUnits;
    return this;
  }

  /** An IPv6 extension header of the given type and total length (a multiple of 8). */
  TestFrame ext(int type, int lengthBytes) {
    extHeaders.add(new ExtHeader(type, lengthBytes, 0));
    return this;
  }

  TestFrame fragmentHeader(int offsetUnits) {
    extHeaders.add(new ExtHeader(FRAGMENT, 8, offsetUnits));
    return this;
  }

  TestFrame payload(String ascii) {
    payload = ascii.getBytes(StandardCharsets.US_ASCII);
    return this;
  }

  TestFrame payload(byte[] bytes) {
    payload = bytes.clone();
    return this;
  }

  /** Cut the frame after `length` bytes, as a truncated capture or a malicious sender would. */
  TestFrame truncateTo(int length) {
    truncateTo = length;
    return this;
  }

  byte[] build() {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    write(out, new byte[] {2, 0, 0, 0, 0, 2}); // destination MAC
    write(out, new byte[] {2, 0, 0, 0, 0, 1}); // source MAC
    for (VlanTag tag : vlans) {
      u16(out, tag.tpid());
      u16(out, tag.vid() & 0x0fff);
    }
    u16(out, etherType);
    byte[] l4Bytes = l4Header();
    switch (etherType) {
      case ETH_IPV4 -> ipv4Header(out, l4Bytes.length + payload.length);
      case ETH_IPV6 -> ipv6Header(out, l4Bytes.length + payload.length);
      default -> {}
    }
    write(out, l4Bytes);
    write(out, payload);
    byte[] frame = out.toByteArray();
    if (frame.length < 60 && truncateTo < 0) {
      frame = Arrays.copyOf(frame, 60); // Ethernet minimum, as a NIC would deliver it
    }
    return truncateTo >= 0 ? Arrays.copyOf(frame, truncateTo) : frame;
  }

  private void ipv4Header(ByteArrayOutputStream out, int innerLength) {
    int headerLength = 20 + ipv4OptionBytes;
    out.write(0x40 | (headerLength / 4));
    out.write(0);
    u16(out, headerLength + innerLength);
    u16(out, 0x1234);
    u16(out, ipv4FragmentOffset & 0x1fff);
    out.write(64);
    out.write(l4 < 0 ? 0xfd : l4);
    u16(out, 0);
    write(out, src.getAddress());
    write(out, dst.getAddress());
    for (int i = 0; i < ipv4OptionBytes; i++) {
      out.write(1); // NOP
    }
  }

  private void ipv6Header(ByteArrayOutputStream out, int innerLength) {
    int extLength = extHeaders.stream().mapToInt(ExtHeader::lengthBytes).sum();
    u32(out, 0x60000000);
    u16(out, extLength + innerLength);
    int upper = l4 < 0 ? 59 : (l4 == ICMP ? 58 : l4);
    out.write(extHeaders.isEmpty() ? upper : extHeaders.getFirst().type());
    out.write(64);
    write(out, src.getAddress());
    write(out, dst.getAddress());
    for (int i = 0; i < extHeaders.size(); i++) {
      ExtHeader h = extHeaders.get(i);
      int next = i + 1 < extHeaders.size() ? extHeaders.get(i + 1).type() : upper;
      out.write(next);
      switch (h.type()) {
        case FRAGMENT -> {
          out.write(0);
          u16(out, (h.fragmentOffset() << 3) | (h.fragmentOffset() == 0 ? 1 : 0));
          u32(out, 0xcafe);
        }
        case AH -> {
          out.write(h.lengthBytes() / 4 - 2);
          write(out, new byte[h.lengthBytes() - 2]);
        }
        default -> {
          out.write(h.lengthBytes() / 8 - 1);
          write(out, new byte[h.lengthBytes() - 2]);
        }
      }
    }
  }

  private byte[] l4Header() {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    if (l4 == TCP) {
      u16(out, srcPort);
      u16(out, dstPort);
      u32(out, 1000);
      u32(out, 0);
      int headerLength = 20 + tcpOptionBytes;
      out.write((headerLength / 4) << 4);
      out.write(tcpFlags);
      u16(out, 65535);
      u16(out, 0);
      u16(out, 0);
      for (int i = 0; i < tcpOptionBytes; i++) {
        out.write(1); // NOP
      }
    } else if (l4 == UDP) {
      u16(out, srcPort);
      u16(out, dstPort);
      u16(out, 8 + payload.length);
      u16(out, 0);
    } else if (l4 == ICMP) {
      write(out, new byte[] {8, 0, 0, 0, 0, 1, 0, 1});
    }
    return out.toByteArray();
  }

  private static void u16(ByteArrayOutputStream out, int v) {
    out.write(v >>> 8);
    out.write(v);
  }

  private static void u32(ByteArrayOutputStream out, int v) {
    u16(out, v >>> 16);
    u16(out, v);
  }

  private static void write(ByteArrayOutputStream out, byte[] bytes) {
    out.write(bytes, 0, bytes.length);
  }
}
