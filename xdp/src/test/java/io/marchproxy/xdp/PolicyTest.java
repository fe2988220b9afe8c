package io.marchproxy.xdp;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The lists and budgets through BPF_PROG_TEST_RUN. Budgets are set to 1 packet per second, so
 * within a test (milliseconds) only the burst refills nothing and the counts are exact.
 */
class PolicyTest {
  private static final String DST = "192.0.2.1";
  private static final Budget ROOMY = new Budget(1, 1000);

  private XdpProgram program;
  private XdpMaps maps;

  @BeforeEach
  void load() {
    program = XdpProgram.load();
    maps = program.maps();
    maps.protect(443, Set.of(Protocol.TCP));
    maps.protect(8443, Set.of(Protocol.TCP, Protocol.UDP));
  }

  @AfterEach
  void close() {
    program.close();
  }

  private void configure(Budget packets, Budget syns, Budget newSources) {
    maps.configure(
        new XdpConfig(
            true,
            Optional.ofNullable(packets),
            syns == null ? Optional.empty() : Optional.of(new XdpConfig.SynGuard(syns, newSources)),
            true));
  }

  private List<Verdict> send(byte[] frame, int times) {
    List<Verdict> verdicts = new ArrayList<>();
    for (int i = 0; i < times; i++) {
      verdicts.add(program.testRun(frame).verdict());
    }
    return verdicts;
  }

  private static byte[] tcp(String src) {
    return TestFrame.ipv4(src, DST).tcp(443).build();
  }

  @Test
  void disabledProgramPassesEverythingUntouched() {
    maps.configure(XdpConfig.DISABLED.withPackets(new Budget(1, 1)));
    maps.deny(Cidr.parse("0.0.0.0/0"));

    assertThat(send(tcp("198.51.100.7"), 5)).containsOnly(Verdict.PASS);
    assertThat(maps.counters().packets(Counter.PASS_DISABLED)).isEqualTo(5);
    assertThat(maps.counters().totalPackets()).isEqualTo(5);
  }

  @Test
  void denyListDropsItsNetworksOnProtectedPortsOnly() {
    configure(ROOMY, null, null);
    maps.deny(Cidr.parse("198.51.100.0/24"));
    maps.deny(Cidr.parse("2001:db8:bad::/48"));

    assertThat(program.testRun(tcp("198.51.100.7")).verdict()).isEqualTo(Verdict.DROP);
    assertThat(
            program
                .testRun(TestFrame.ipv6("2001:db8:bad::1", "2001:db8::1").tcp(443).build())
                .verdict())
        .isEqualTo(Verdict.DROP);
    assertThat(program.testRun(tcp("198.51.101.7")).verdict()).isEqualTo(Verdict.PASS);
    assertThat(program.testRun(TestFrame.ipv4("198.51.100.7", DST).tcp(22).build()).verdict())
        .as("an unprotected port is not the deny list's business")
        .isEqualTo(Verdict.PASS);

    Counters c = maps.counters();
    assertThat(c.packets(Counter.DROP_DENYLIST)).isEqualTo(2);
    assertThat(c.packets(Counter.PASS)).isEqualTo(1);
    assertThat(c.packets(Counter.PASS_NOT_COVERED)).isEqualTo(1);
    assertThat(maps.denyList())
        .extracting(Cidr::toString)
        .containsExactlyInAnyOrder("198.51.100.0/24", "2001:db8:bad:0:0:0:0:0/48");
  }

  @Test
  void removingTheLastDenyEntryLetsTheSourceThroughAgain() {
    configure(ROOMY, null, null);
    Cidr net = Cidr.parse("198.51.100.0/24");
    maps.deny(net);
    assertThat(program.testRun(tcp("198.51.100.7")).verdict()).isEqualTo(Verdict.DROP);

    maps.removeDenied(net);

    assertThat(maps.denyList()).isEmpty();
    assertThat(program.testRun(tcp("198.51.100.7")).verdict()).isEqualTo(Verdict.PASS);
  }

  @Test
  void allowListWinsOverDenyListAndLimits() {
    configure(new Budget(1, 1), new Budget(1, 1), new Budget(1, 1));
    maps.allow(Cidr.parse("203.0.113.0/24"));
    maps.allow(Cidr.parse("2001:db8:600d::/48"));
    maps.deny(Cidr.parse("203.0.0.0/8"));

    byte[] syn = TestFrame.ipv4("203.0.113.9", DST).tcp(443).syn().build();
    assertThat(send(syn, 5)).containsOnly(Verdict.PASS);
    assertThat(send(TestFrame.ipv6("2001:db8:600d::9", "2001:db8::1").tcp(443).build(), 3))
        .containsOnly(Verdict.PASS);
    assertThat(program.testRun(tcp("203.0.5.5")).verdict()).isEqualTo(Verdict.DROP);

    Counters c = maps.counters();
    assertThat(c.packets(Counter.PASS_ALLOWLIST)).isEqualTo(8);
    assertThat(c.packets(Counter.DROP_DENYLIST)).isEqualTo(1);
    assertThat(c.packets(Counter.NEW_SOURCE)).as("allowed sources take no table entry").isZero();
    assertThat(maps.allowList()).hasSize(2);
  }

  @Test
  void rateLimitPassesTheBurstPerSourceThenDrops() throws Exception {
    configure(new Budget(1, 3), null, null);

    List<Verdict> flood = send(tcp("198.51.100.1"), 10);
    List<Verdict> other = send(TestFrame.ipv4("198.51.100.2", DST).udp(8443).build(), 3);
    List<Verdict> v6 = send(TestFrame.ipv6("2001:db8::77", "2001:db8::1").tcp(8443).build(), 4);

    assertThat(flood)
        .containsExactly(
            Verdict.PASS,
            Verdict.PASS,
            Verdict.PASS,
            Verdict.DROP,
            Verdict.DROP,
            Verdict.DROP,
            Verdict.DROP,
            Verdict.DROP,
            Verdict.DROP,
            Verdict.DROP);
    assertThat(other).containsOnly(Verdict.PASS);
    assertThat(v6).containsExactly(Verdict.PASS, Verdict.PASS, Verdict.PASS, Verdict.DROP);
    Counters c = maps.counters();
    assertThat(c.packets(Counter.PASS)).isEqualTo(9);
    assertThat(c.packets(Counter.DROP_RATE_LIMIT)).isEqualTo(8);
    assertThat(c.packets(Counter.NEW_SOURCE)).isEqualTo(3);
    assertThat(maps.tracks(InetAddress.getByName("198.51.100.1"))).isTrue();
  }

  @Test
  void synGuardLimitsSynsPerSourceSeparatelyFromOtherPackets() {
    configure(null, new Budget(1, 2), ROOMY);
    String src = "198.51.100.3";

    List<Verdict> syns = send(TestFrame.ipv4(src, DST).tcp(443).syn().build(), 5);
    List<Verdict> acks = send(tcp(src), 5);
    List<Verdict> synAcks = send(TestFrame.ipv4(src, DST).tcp(443).synAck().build(), 2);

    assertThat(syns)
        .containsExactly(Verdict.PASS, Verdict.PASS, Verdict.DROP, Verdict.DROP, Verdict.DROP);
    assertThat(acks).as("no packet budget configured").containsOnly(Verdict.PASS);
    assertThat(synAcks).as("a SYN-ACK opens nothing").containsOnly(Verdict.PASS);
    Counters c = maps.counters();
    assertThat(c.packets(Counter.DROP_SYN_LIMIT)).isEqualTo(3);
    assertThat(c.packets(Counter.PASS)).isEqualTo(9);
  }

  @Test
  void synBudgetIsCheckedBeforeThePacketBudgetIsSpent() {
    configure(new Budget(1, 4), new Budget(1, 1), ROOMY);
    String src = "198.51.100.4";

    // SYN 1 passes (spends both), SYNs 2-3 drop on the SYN budget without spending packets.
    List<Verdict> syns = send(TestFrame.ipv4(src, DST).tcp(443).syn().build(), 3);
    List<Verdict> acks = send(tcp(src), 4);

    assertThat(syns).containsExactly(Verdict.PASS, Verdict.DROP, Verdict.DROP);
    assertThat(acks).containsExactly(Verdict.PASS, Verdict.PASS, Verdict.PASS, Verdict.DROP);
    Counters c = maps.counters();
    assertThat(c.packets(Counter.DROP_SYN_LIMIT)).isEqualTo(2);
    assertThat(c.packets(Counter.DROP_RATE_LIMIT)).isEqualTo(1);
  }

  @Test
  void newSourceCapKeepsASpoofedFloodOutOfTheTable() throws Exception {
    configure(ROOMY, ROOMY, new Budget(1, 3));
    send(tcp("198.51.100.200"), 1); // a known source, admitted before the flood

    List<Verdict> spoofed = new ArrayList<>();
    for (int i = 1; i <= 6; i++) {
      spoofed.add(
          program.testRun(TestFrame.ipv4("10.9.0." + i, DST).tcp(443).syn().build()).verdict());
    }
    List<Verdict> known = send(tcp("198.51.100.200"), 3);

    assertThat(spoofed)
        .containsExactly(
            Verdict.PASS, Verdict.PASS, Verdict.DROP, Verdict.DROP, Verdict.DROP, Verdict.DROP);
    assertThat(known).as("known sources are not affected by the cap").containsOnly(Verdict.PASS);
    assertThat(maps.tracks(InetAddress.getByName("10.9.0.2"))).isTrue();
    assertThat(maps.tracks(InetAddress.getByName("10.9.0.3"))).as("never inserted").isFalse();
    Counters c = maps.counters();
    assertThat(c.packets(Counter.NEW_SOURCE)).isEqualTo(3);
    assertThat(c.packets(Counter.DROP_NEW_SOURCE_CAP)).isEqualTo(4);
    assertThat(c.totalPackets()).isEqualTo(10);
  }

  @Test
  void withoutBudgetsProtectedTrafficPassesUncounted() {
    maps.configure(XdpConfig.DISABLED.withEnabled(true));

    assertThat(send(tcp("198.51.100.5"), 3)).containsOnly(Verdict.PASS);
    assertThat(maps.counters().packets(Counter.PASS)).isEqualTo(3);
    assertThat(maps.counters().packets(Counter.NEW_SOURCE)).isZero();
  }

  @Test
  void unprotectingAPortStopsCoveringIt() {
    configure(new Budget(1, 1), null, null);
    maps.unprotect(443);

    assertThat(send(tcp("198.51.100.6"), 3)).containsOnly(Verdict.PASS);
    assertThat(maps.counters().packets(Counter.PASS_NOT_COVERED)).isEqualTo(3);
    assertThat(maps.protectedPorts()).containsOnlyKeys(8443);
  }

  @Test
  void configurationReadsBackAsWritten() {
    XdpConfig written =
        new XdpConfig(
            true,
            Optional.of(new Budget(500, 1000)),
            Optional.of(new XdpConfig.SynGuard(new Budget(20, 40), new Budget(10000, 20000))),
            false);
    maps.configure(written);
    maps.deny(Cidr.parse("10.0.0.0/8"));

    assertThat(maps.config()).isEqualTo(written);
  }

  @Test
  void bytesCountedAreFrameLengths() {
    configure(new Budget(1, 1), null, null);
    byte[] frame = TestFrame.ipv4("198.51.100.8", DST).tcp(443).payload("x".repeat(100)).build();

    send(frame, 3);

    Counters c = maps.counters();
    assertThat(c.bytes(Counter.PASS)).isEqualTo(frame.length);
    assertThat(c.bytes(Counter.DROP_RATE_LIMIT)).isEqualTo(2L * frame.length);
  }
}
