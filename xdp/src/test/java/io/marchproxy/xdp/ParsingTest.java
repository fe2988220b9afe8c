package io.marchproxy.xdp;

import static io.marchproxy.xdp.TestFrame.AH;
import static io.marchproxy.xdp.TestFrame.DSTOPTS;
import static io.marchproxy.xdp.TestFrame.HOPOPTS;
import static io.marchproxy.xdp.TestFrame.ROUTING;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.Arrays;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Parser edges through BPF_PROG_TEST_RUN: every frame goes through the real program, and the test
 * checks the verdict, the one verdict counter it must bump (with its bytes) and, for frames that
 * reach the limiter, that their source landed in the table.
 */
class ParsingTest {
  private static final String V4_DST = "192.0.2.1";
  private static final String V6_DST = "2001:db8::1";

  // One program for the whole table (a load is ~0.6 s of verification): each row has its own
  // source address and is judged by the counters' change.
  private static XdpProgram program;
  private static String lastSource;
  private static int serial;

  @BeforeAll
  static void load() {
    program = XdpProgram.load();
    Budget generous = new Budget(1, 1000);
    program
        .maps()
        .configure(
            new XdpConfig(
                true,
                Optional.of(generous),
                Optional.of(new XdpConfig.SynGuard(generous, generous)),
                true));
    program.maps().protect(443, Set.of(Protocol.TCP));
    program.maps().protect(53, Set.of(Protocol.UDP));
  }

  @AfterAll
  static void close() {
    program.close();
  }

  /** A source address no other row uses. */
  private static String v4() {
    lastSource = "198.18.0." + (++serial);
    return lastSource;
  }

  private static String v6() {
    lastSource = "2001:db8::" + Integer.toHexString(++serial);
    return lastSource;
  }

  private static String takeSource() {
    String s = lastSource;
    lastSource = null;
    return s;
  }

  static Stream<Arguments> frames() {
    return Stream.of(
        row("ARP", TestFrame.arp().build(), Counter.PASS_NOT_IP),
        // BPF_PROG_TEST_RUN refuses frames shorter than an Ethernet header, as do NICs.
        row(
            "Ethernet header only",
            cut(TestFrame.ipv4(v4(), V4_DST).tcp(443), 14),
            Counter.PASS_MALFORMED),
        row(
            "VLAN tag cut off",
            cut(TestFrame.ipv4(v4(), V4_DST).vlan(7).tcp(443), 16),
            Counter.PASS_NOT_IP),
        row(
            "three VLAN tags",
            TestFrame.ipv4(v4(), V4_DST).serviceVlan(1).vlan(2).vlan(3).tcp(443).build(),
            Counter.PASS_NOT_IP),
        row(
            "IPv4 header cut off",
            cut(TestFrame.ipv4(v4(), V4_DST).tcp(443), 14 + 10),
            Counter.PASS_MALFORMED),
        row(
            "IPv4 options cut off",
            cut(TestFrame.ipv4(v4(), V4_DST).ipv4Options(12).tcp(443), 14 + 24),
            Counter.PASS_MALFORMED),
        row(
            "TCP header cut off",
            cut(TestFrame.ipv4(v4(), V4_DST).tcp(443), 14 + 20 + 12),
            Counter.PASS_MALFORMED),
        row(
            "TCP options cut off",
            cut(TestFrame.ipv4(v4(), V4_DST).tcpOptions(20).tcp(443), 14 + 20 + 30),
            Counter.PASS_MALFORMED),
        row(
            "UDP header cut off",
            cut(TestFrame.ipv4(v4(), V4_DST).udp(53), 14 + 20 + 4),
            Counter.PASS_MALFORMED),
        row(
            "IPv6 header cut off",
            cut(TestFrame.ipv6(v6(), V6_DST).tcp(443), 14 + 30),
            Counter.PASS_MALFORMED),
        row(
            "IPv6 extension header cut off",
            cut(TestFrame.ipv6(v6(), V6_DST).ext(HOPOPTS, 16).tcp(443), 14 + 40 + 12),
            Counter.PASS_MALFORMED),
        row(
            "more IPv6 extension headers than the bound",
            TestFrame.ipv6(v6(), V6_DST)
                .ext(HOPOPTS, 8)
                .ext(DSTOPTS, 8)
                .ext(ROUTING, 8)
                .ext(DSTOPTS, 8)
                .ext(DSTOPTS, 8)
                .ext(DSTOPTS, 8)
                .ext(DSTOPTS, 8)
                .tcp(443)
                .build(),
            Counter.PASS_MALFORMED),
        row("ICMP", TestFrame.ipv4(v4(), V4_DST).icmp().build(), Counter.PASS_NOT_COVERED),
        row("IPv6 no next header", TestFrame.ipv6(v6(), V6_DST).build(), Counter.PASS_NOT_COVERED),
        row(
            "unprotected TCP port",
            TestFrame.ipv4(v4(), V4_DST).tcp(22).build(),
            Counter.PASS_NOT_COVERED),
        row(
            "UDP to a TCP-only port",
            TestFrame.ipv4(v4(), V4_DST).udp(443).build(),
            Counter.PASS_NOT_COVERED),
        row(
            "TCP to a UDP-only port",
            TestFrame.ipv4(v4(), V4_DST).tcp(53).build(),
            Counter.PASS_NOT_COVERED),
        row(
            "later IPv4 fragment",
            TestFrame.ipv4(v4(), V4_DST).ipv4Fragment(100).tcp(443).build(),
            Counter.PASS_NOT_COVERED),
        row(
            "later IPv6 fragment",
            TestFrame.ipv6(v6(), V6_DST).fragmentHeader(100).tcp(443).build(),
            Counter.PASS_NOT_COVERED),
        tracked("IPv4 TCP", TestFrame.ipv4(v4(), V4_DST).tcp(443).build()),
        tracked("IPv4 UDP", TestFrame.ipv4(v4(), V4_DST).udp(53).build()),
        tracked("IPv4 with options", TestFrame.ipv4(v4(), V4_DST).ipv4Options(12).tcp(443).build()),
        tracked("TCP with options", TestFrame.ipv4(v4(), V4_DST).tcpOptions(20).tcp(443).build()),
        tracked("802.1Q VLAN", TestFrame.ipv4(v4(), V4_DST).vlan(100).tcp(443).build()),
        tracked(
            "802.1ad QinQ", TestFrame.ipv4(v4(), V4_DST).serviceVlan(10).vlan(20).tcp(443).build()),
        tracked("IPv6 TCP", TestFrame.ipv6(v6(), V6_DST).tcp(443).build()),
        tracked("IPv6 UDP over VLAN", TestFrame.ipv6(v6(), V6_DST).vlan(5).udp(53).build()),
        tracked(
            "IPv6 hop-by-hop, routing, destination options",
            TestFrame.ipv6(v6(), V6_DST)
                .ext(HOPOPTS, 8)
                .ext(ROUTING, 24)
                .ext(DSTOPTS, 16)
                .tcp(443)
                .build()),
        tracked(
            "IPv6 first fragment", TestFrame.ipv6(v6(), V6_DST).fragmentHeader(0).tcp(443).build()),
        tracked("IPv6 AH", TestFrame.ipv6(v6(), V6_DST).ext(AH, 24).tcp(443).build()),
        tracked(
            "six IPv6 extension headers (the bound)",
            TestFrame.ipv6(v6(), V6_DST)
                .ext(HOPOPTS, 8)
                .ext(DSTOPTS, 8)
                .ext(ROUTING, 8)
                .ext(DSTOPTS, 8)
                .ext(DSTOPTS, 8)
                .ext(DSTOPTS, 8)
                .tcp(443)
                .build()));
  }

  private static Arguments row(String name, byte[] frame, Counter counter) {
    return Arguments.of(name, frame, counter, false, takeSource());
  }

  private static Arguments tracked(String name, byte[] frame) {
    return Arguments.of(name, frame, Counter.PASS, true, takeSource());
  }

  private static byte[] cut(TestFrame frame, int length) {
    return Arrays.copyOf(frame.build(), length);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("frames")
  void eachFrameGetsItsVerdictAndExactlyOneVerdictCounter(
      String name, byte[] frame, Counter expected, boolean reachesLimiter, String source)
      throws Exception {
    Counters before = program.maps().counters();
    TestRun run = program.testRun(frame);

    assertThat(run.verdict()).isEqualTo(Verdict.PASS);
    assertThat(run.frameOut()).as("the program never rewrites a frame").isEqualTo(frame);
    Counters counters = program.maps().counters().minus(before);
    assertThat(counters.totalPackets()).isEqualTo(1);
    assertThat(counters.packets(expected)).isEqualTo(1);
    assertThat(counters.bytes(expected)).isEqualTo(frame.length);
    assertThat(counters.packets(Counter.NEW_SOURCE)).isEqualTo(reachesLimiter ? 1 : 0);
    if (source != null) {
      assertThat(program.maps().tracks(java.net.InetAddress.getByName(source)))
          .isEqualTo(reachesLimiter);
    }
  }
}
