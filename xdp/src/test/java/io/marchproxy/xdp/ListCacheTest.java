package io.marchproxy.xdp;

import static org.assertj.core.api.Assertions.assertThat;

import io.marchproxy.xdp.libbpf.Libbpf;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.InetAddress;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The per-CPU cache of list answers in front of the tries (lists.h): a list change made through
 * XdpMaps applies to the very next packet of a source whose answer is cached; a trie written behind
 * XdpMaps' back (no new generation) is seen once the cached answer expires.
 */
class ListCacheTest {
  private static final String DST = "192.0.2.1";

  private XdpProgram program;
  private XdpMaps maps;

  @BeforeEach
  void load() {
    program = XdpProgram.load();
    maps = program.maps();
    maps.protect(443, Set.of(Protocol.TCP));
    maps.configure(new XdpConfig(true, Optional.of(new Budget(1, 1000)), Optional.empty(), false));
    // Another entry keeps the deny lookup on throughout.
    maps.deny(Cidr.parse("203.0.113.0/24"));
    maps.deny(Cidr.parse("2001:db8:bad::/48"));
  }

  @AfterEach
  void close() {
    program.close();
  }

  private Verdict send(String src) {
    byte[] frame =
        src.contains(":")
            ? TestFrame.ipv6(src, "2001:db8::1").tcp(443).build()
            : TestFrame.ipv4(src, DST).tcp(443).build();
    return program.testRun(frame).verdict();
  }

  @Test
  void aSourceDeniedAfterItsAnswerWasCachedDropsOnItsNextPacket() {
    assertThat(send("198.51.100.1")).isEqualTo(Verdict.PASS);
    assertThat(send("2001:db8::7")).isEqualTo(Verdict.PASS);

    maps.deny(Cidr.parse("198.51.100.1/32"));
    maps.deny(Cidr.parse("2001:db8::7/128"));

    assertThat(send("198.51.100.1")).isEqualTo(Verdict.DROP);
    assertThat(send("2001:db8::7")).isEqualTo(Verdict.DROP);
    assertThat(maps.counters().packets(Counter.DROP_DENYLIST)).isEqualTo(2);
  }

  @Test
  void removingOneDenyEntryWhileOthersRemainLetsThatSourceThrough() {
    maps.deny(Cidr.parse("198.51.100.2/32"));
    assertThat(send("198.51.100.2")).isEqualTo(Verdict.DROP);

    maps.removeDenied(Cidr.parse("198.51.100.2/32"));

    assertThat(send("198.51.100.2")).isEqualTo(Verdict.PASS);
    assertThat(send("203.0.113.9"))
        .as("the rest of the list still applies")
        .isEqualTo(Verdict.DROP);
  }

  @Test
  void anAllowEntryAddedAfterADenyAnswerWasCachedWins() {
    assertThat(send("203.0.113.5")).isEqualTo(Verdict.DROP);

    maps.allow(Cidr.parse("203.0.113.5/32"));

    assertThat(send("203.0.113.5")).isEqualTo(Verdict.PASS);
    assertThat(maps.counters().packets(Counter.PASS_ALLOWLIST)).isEqualTo(1);
  }

  @Test
  void sourcesThatShareACacheEntryGetTheirOwnAnswers() {
    // 4,096 entries per CPU: among 5,000 sources many share one; each keeps its own verdict.
    for (int i = 0; i < 5000; i++) {
      String denied = "203.0.113." + (i % 256);
      String other = "10." + (i / 256) + "." + (i % 256) + ".1";
      assertThat(send(other)).isEqualTo(Verdict.PASS);
      assertThat(send(denied)).isEqualTo(Verdict.DROP);
    }
  }

  @Test
  void aTrieWrittenWithoutANewGenerationIsSeenOnceTheCachedAnswerExpires() throws Exception {
    assertThat(send("198.51.100.3")).isEqualTo(Verdict.PASS);
    // Behind XdpMaps' back: the trie gets the entry, the generation stays.
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment key = arena.allocate(8);
      key.set(ValueLayout.JAVA_INT, 0, 32);
      MemorySegment.copy(
          InetAddress.getByName("198.51.100.3").getAddress(), 0, key, ValueLayout.JAVA_BYTE, 4, 4);
      MemorySegment value = arena.allocate(ValueLayout.JAVA_INT);
      value.set(ValueLayout.JAVA_INT, 0, 1);
      assertThat(Libbpf.mapUpdate(maps.fd(XdpMaps.DENY_V4), key, value, 0)).isZero();
    }

    assertThat(send("198.51.100.3")).as("the cached answer").isEqualTo(Verdict.PASS);
    Thread.sleep(1_500); // past the cache's one-second limit
    assertThat(send("198.51.100.3")).isEqualTo(Verdict.DROP);
  }
}
