package io.marchproxy.xdp;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.assertj.core.api.Assertions.assertThat;

import io.marchproxy.xdp.libbpf.Libbpf;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The per-source tables (table.h): buckets of four slots in an array, a new source taking its
 * bucket's idlest slot, and the clock the budgets read. Through BPF_PROG_TEST_RUN; budgets are 1
 * packet per second, so within a test only the burst counts.
 */
class SourceTableTest {
  private static final String DST = "192.0.2.1";

  private static XdpProgram load(int maxSources) {
    XdpProgram p = XdpProgram.load(XdpProgram.LoadOptions.unpinned().withMaxSources(maxSources));
    p.maps().protect(443, Set.of(Protocol.TCP));
    p.maps()
        .configure(new XdpConfig(true, Optional.of(new Budget(1, 10)), Optional.empty(), false));
    return p;
  }

  private static List<Verdict> send(XdpProgram p, byte[] frame, int times) {
    List<Verdict> verdicts = new ArrayList<>();
    for (int i = 0; i < times; i++) {
      verdicts.add(p.testRun(frame).verdict());
    }
    return verdicts;
  }

  private static byte[] v4(String src) {
    return TestFrame.ipv4(src, DST).tcp(443).build();
  }

  private static byte[] v6(String src) {
    return TestFrame.ipv6(src, "2001:db8::1").tcp(443).build();
  }

  private static boolean tracks(XdpProgram p, String source) throws Exception {
    return p.maps().tracks(InetAddress.getByName(source));
  }

  @Test
  void maxSourcesIsRoundedUpToWholeBucketsOfFour() {
    assertThat(XdpMaps.buckets(4)).isEqualTo(1);
    assertThat(XdpMaps.buckets(5)).isEqualTo(2);
    assertThat(XdpMaps.buckets(65536)).isEqualTo(16384);
    assertThat(XdpMaps.buckets(1)).isEqualTo(1);
    try (XdpProgram p = load(5)) {
      assertThat(Libbpf.mapMaxEntries(p.maps().fd(XdpMaps.SOURCES_V4))).isEqualTo(2);
      assertThat(Libbpf.mapMaxEntries(p.maps().fd(XdpMaps.SOURCES_V6))).isEqualTo(2);
      assertThat(Libbpf.mapMaxEntries(p.maps().fd(XdpMaps.SEEN_V4))).isEqualTo(2);
    }
  }

  @Test
  void aFullBucketGivesItsIdlestSlotToANewSourceAndKeepsTheBusyOnes() throws Exception {
    try (XdpProgram p = load(4)) { // one bucket: every source shares it
      // A spends half its burst; B, C and D one packet each, B first: B is due earliest.
      assertThat(send(p, v4("198.51.100.1"), 5)).containsOnly(Verdict.PASS);
      for (String s : List.of("198.51.100.2", "198.51.100.3", "198.51.100.4")) {
        assertThat(send(p, v4(s), 1)).containsOnly(Verdict.PASS);
      }

      assertThat(send(p, v4("198.51.100.5"), 1)).containsOnly(Verdict.PASS);

      assertThat(tracks(p, "198.51.100.5")).isTrue();
      assertThat(tracks(p, "198.51.100.2")).as("the idlest source made room").isFalse();
      assertThat(tracks(p, "198.51.100.1")).isTrue();
      assertThat(tracks(p, "198.51.100.3")).isTrue();
      assertThat(tracks(p, "198.51.100.4")).isTrue();
      // A kept its spent budget: 5 of its burst of 10 are left.
      List<Verdict> rest = send(p, v4("198.51.100.1"), 6);
      assertThat(rest.subList(0, 5)).containsOnly(Verdict.PASS);
      assertThat(rest.get(5)).isEqualTo(Verdict.DROP);
      assertThat(p.maps().counters().packets(Counter.NEW_SOURCE)).isEqualTo(5);
    }
  }

  private static long seenWord(XdpProgram p) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment key = arena.allocate(JAVA_INT);
      MemorySegment value = arena.allocate(JAVA_LONG);
      assertThat(Libbpf.mapLookup(p.maps().fd(XdpMaps.SEEN_V4), key, value)).isZero();
      return value.get(JAVA_LONG, 0);
    }
  }

  private static void setSeenWord(XdpProgram p, long word) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment key = arena.allocate(JAVA_INT);
      MemorySegment value = arena.allocate(JAVA_LONG);
      value.set(JAVA_LONG, 0, word);
      assertThat(Libbpf.mapUpdate(p.maps().fd(XdpMaps.SEEN_V4), key, value, 0)).isZero();
    }
  }

  @Test
  void everyInsertWritesItsSlotsFingerprintSoKnownSourcesAreFoundThroughTheSeenWord()
      throws Exception {
    try (XdpProgram p = load(4)) { // one bucket, one seen word
      assertThat(seenWord(p)).isZero();
      List<String> sources =
          List.of("198.51.100.1", "198.51.100.2", "198.51.100.3", "198.51.100.4");
      for (String s : sources) {
        assertThat(send(p, v4(s), 1)).containsOnly(Verdict.PASS);
      }
      long word = seenWord(p);
      for (int lane = 0; lane < 4; lane++) {
        assertThat((word >>> (16 * lane)) & 0xFFFF).as("lane %d", lane).isOdd();
      }
      // Known: their bursts keep counting down (10 each), nothing is inserted again.
      long before = p.maps().counters().packets(Counter.NEW_SOURCE);
      for (String s : sources) {
        assertThat(send(p, v4(s), 9)).containsOnly(Verdict.PASS);
        assertThat(send(p, v4(s), 1)).as(s + " spent its burst").containsOnly(Verdict.DROP);
      }
      assertThat(p.maps().counters().packets(Counter.NEW_SOURCE)).isEqualTo(before);
    }
  }

  @Test
  void aSourceWhoseLaneWasLostCountsAsNewOnceAndIsFoundAgainAfterwards() throws Exception {
    try (XdpProgram p = load(4)) {
      assertThat(send(p, v4("198.51.100.1"), 3)).containsOnly(Verdict.PASS);
      // What a lost racing update leaves behind: the slot holds the source, its lane does not.
      setSeenWord(p, 0);
      long before = p.maps().counters().packets(Counter.NEW_SOURCE);

      assertThat(send(p, v4("198.51.100.1"), 1)).containsOnly(Verdict.PASS);

      assertThat(p.maps().counters().packets(Counter.NEW_SOURCE)).isEqualTo(before + 1);
      assertThat(seenWord(p)).as("the insert wrote a lane again").isNotZero();
      assertThat(send(p, v4("198.51.100.1"), 1)).containsOnly(Verdict.PASS);
      assertThat(p.maps().counters().packets(Counter.NEW_SOURCE))
          .as("found again, not new")
          .isEqualTo(before + 1);
    }
  }

  @Test
  void anEvictedSourceStartsAgainWithAFullBudget() throws Exception {
    try (XdpProgram p = load(4)) {
      assertThat(send(p, v4("198.51.100.1"), 11)).endsWith(Verdict.DROP);
      // B to E spend their whole bursts after A did: A is due earliest, so E takes its slot.
      for (String s : List.of("198.51.100.2", "198.51.100.3", "198.51.100.4", "198.51.100.5")) {
        send(p, v4(s), 10);
      }

      assertThat(tracks(p, "198.51.100.1")).isFalse();
      assertThat(send(p, v4("198.51.100.1"), 1))
          .as("forgotten, so treated as new")
          .containsOnly(Verdict.PASS);
    }
  }

  @Test
  void ipv6SourcesShareBucketsTheSameWay() throws Exception {
    try (XdpProgram p = load(4)) {
      assertThat(send(p, v6("2001:db8::a"), 5)).containsOnly(Verdict.PASS);
      for (String s : List.of("2001:db8::b", "2001:db8::c", "2001:db8::d", "2001:db8::e")) {
        assertThat(send(p, v6(s), 1)).containsOnly(Verdict.PASS);
      }

      assertThat(tracks(p, "2001:db8::a")).isTrue();
      assertThat(tracks(p, "2001:db8::b")).as("the idlest source made room").isFalse();
      assertThat(tracks(p, "2001:db8::e")).isTrue();
      assertThat(tracks(p, "198.51.100.1")).as("the IPv4 table is separate").isFalse();
      List<Verdict> rest = send(p, v6("2001:db8::a"), 6);
      assertThat(rest.get(5)).isEqualTo(Verdict.DROP);
    }
  }

  @Test
  void theJavaHashFindsEverySourceTheProgramInserted() throws Exception {
    try (XdpProgram p = load(65536)) {
      for (int i = 0; i < 200; i++) {
        send(p, v4("10." + (i / 50) + "." + (i % 50) + ".7"), 1);
        send(p, v6("2001:db8:" + Integer.toHexString(i) + "::" + Integer.toHexString(i * 7)), 1);
      }
      for (int i = 0; i < 200; i++) {
        assertThat(tracks(p, "10." + (i / 50) + "." + (i % 50) + ".7")).isTrue();
        assertThat(
                tracks(p, "2001:db8:" + Integer.toHexString(i) + "::" + Integer.toHexString(i * 7)))
            .isTrue();
      }
      assertThat(tracks(p, "10.99.0.7")).isFalse();
      assertThat(tracks(p, "2001:db8:ffff::1")).isFalse();
      assertThat(p.maps().counters().packets(Counter.NEW_SOURCE)).isEqualTo(400);
    }
  }

  @Test
  void configureWritesTheKernelTick() {
    int tick = XdpMaps.tickNanos();
    // HZ is 100 to 1000 on Linux: a tick of 1 to 10 ms.
    assertThat(tick).isBetween(1_000_000, 10_000_000);
    try (XdpProgram p = load(4)) {
      assertThat(p.maps().configuredTickNanos()).isEqualTo(tick);
    }
  }

  @Test
  void withoutATickTheProgramFallsBackToTheCoarseClock() {
    try (XdpProgram p = load(4)) {
      p.maps()
          .configure(
              new XdpConfig(true, Optional.of(new Budget(1, 3)), Optional.empty(), false), 0);

      assertThat(send(p, v4("198.51.100.9"), 4))
          .containsExactly(Verdict.PASS, Verdict.PASS, Verdict.PASS, Verdict.DROP);
    }
  }

  @Test
  void stateWrittenWithOneClockHoldsWithTheOther() {
    XdpConfig config = new XdpConfig(true, Optional.of(new Budget(1, 3)), Optional.empty(), false);
    try (XdpProgram p = load(4)) {
      p.maps().configure(config, 0); // the coarse-clock helper
      assertThat(send(p, v4("198.51.100.9"), 3)).containsOnly(Verdict.PASS);

      p.maps().configure(config); // the tick counter
      assertThat(send(p, v4("198.51.100.9"), 1))
          .as("the two clocks agree to well under the one-second interval")
          .containsOnly(Verdict.DROP);

      p.maps().configure(config, 0);
      assertThat(send(p, v4("198.51.100.9"), 1)).containsOnly(Verdict.DROP);
    }
  }
}
