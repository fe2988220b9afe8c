package io.marchproxy.xdp;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HexFormat;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Payload classification counters, from the first bytes of passed protected packets. */
class ClassificationTest {
  private static final byte[] TLS_CLIENT_HELLO =
      HexFormat.of().parseHex("160301020001" + "0001fc0303" + "00".repeat(32));

  private XdpProgram program;

  @BeforeEach
  void load() {
    program = XdpProgram.load();
    program
        .maps()
        .configure(new XdpConfig(true, Optional.of(new Budget(1, 1000)), Optional.empty(), true));
    program.maps().protect(80, Set.of(Protocol.TCP, Protocol.UDP));
  }

  @AfterEach
  void close() {
    program.close();
  }

  static Stream<Arguments> payloads() {
    return Stream.of(
        Arguments.of("GET / HTTP/1.1\r\nHost: a\r\n\r\n".getBytes(), Counter.CLASS_HTTP_GET),
        Arguments.of("POST /x HTTP/1.1\r\n".getBytes(), Counter.CLASS_HTTP_POST),
        Arguments.of("PUT /x HTTP/1.1\r\n".getBytes(), Counter.CLASS_HTTP_PUT),
        Arguments.of("DELETE /x HTTP/1.1\r\n".getBytes(), Counter.CLASS_HTTP_DELETE),
        Arguments.of("HEAD / HTTP/1.1\r\n".getBytes(), Counter.CLASS_HTTP_HEAD),
        Arguments.of("OPTIONS * HTTP/1.1\r\n".getBytes(), Counter.CLASS_HTTP_OPTIONS),
        Arguments.of("PATCH /x HTTP/1.1\r\n".getBytes(), Counter.CLASS_HTTP_PATCH),
        Arguments.of("CONNECT a:443 HTTP/1.1\r\n".getBytes(), Counter.CLASS_HTTP_CONNECT),
        Arguments.of(TLS_CLIENT_HELLO, Counter.CLASS_TLS_CLIENT_HELLO),
        Arguments.of("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(), Counter.CLASS_HTTP2_PREFACE),
        Arguments.of("PRI * HTTP/1.1\r\n".getBytes(), Counter.CLASS_OTHER),
        Arguments.of("SSH-2.0-OpenSSH\r\n".getBytes(), Counter.CLASS_OTHER),
        Arguments.of("GE".getBytes(), Counter.CLASS_OTHER),
        Arguments.of(HexFormat.of().parseHex("1603010200" + "02"), Counter.CLASS_OTHER));
  }

  @ParameterizedTest(name = "{1}")
  @MethodSource("payloads")
  void eachPayloadIsCountedOnceUnderItsProtocol(byte[] payload, Counter expected) {
    byte[] v4 = TestFrame.ipv4("198.51.100.1", "192.0.2.1").tcp(80).payload(payload).build();
    byte[] v6 =
        TestFrame.ipv6("2001:db8::1", "2001:db8::2").vlan(3).tcp(80).payload(payload).build();

    program.testRun(v4);
    program.testRun(v6);

    Counters c = program.maps().counters();
    assertThat(c.packets(expected)).isEqualTo(2);
    assertThat(
            c.values().entrySet().stream()
                .filter(e -> e.getKey().kind() == Counter.Kind.CLASSIFICATION)
                .mapToLong(e -> e.getValue().packets())
                .sum())
        .isEqualTo(2);
  }

  @Test
  void packetsWithoutPayloadAreNotClassifiedEvenWhenPadded() {
    // A bare SYN is 54 bytes; the frame is padded to 60 like on the wire.
    byte[] syn = TestFrame.ipv4("198.51.100.1", "192.0.2.1").tcp(80).syn().build();
    assertThat(syn).hasSize(60);

    program.testRun(syn);

    assertThat(program.maps().counters().packets(Counter.CLASS_OTHER)).isZero();
    assertThat(program.maps().counters().packets(Counter.PASS)).isEqualTo(1);
  }

  @Test
  void udpPayloadsAreClassifiedToo() {
    program.testRun(
        TestFrame.ipv4("198.51.100.1", "192.0.2.1").udp(80).payload("GET / HTTP/1.1\r\n").build());

    assertThat(program.maps().counters().packets(Counter.CLASS_HTTP_GET)).isEqualTo(1);
  }

  @Test
  void droppedPacketsAndTurnedOffClassificationAreNotClassified() {
    program
        .maps()
        .configure(new XdpConfig(true, Optional.of(new Budget(1, 1)), Optional.empty(), true));
    byte[] get =
        TestFrame.ipv4("198.51.100.9", "192.0.2.1").tcp(80).payload("GET / HTTP/1.1\r\n").build();
    program.testRun(get);
    program.testRun(get); // over budget: dropped, not classified

    program
        .maps()
        .configure(program.maps().config().withClassify(false).withPackets(new Budget(1, 1000)));
    program.testRun(
        TestFrame.ipv4("198.51.100.10", "192.0.2.1").tcp(80).payload("GET / HTTP/1.1\r\n").build());

    Counters c = program.maps().counters();
    assertThat(c.packets(Counter.CLASS_HTTP_GET)).isEqualTo(1);
    assertThat(c.packets(Counter.DROP_RATE_LIMIT)).isEqualTo(1);
    assertThat(c.packets(Counter.PASS)).isEqualTo(2);
  }
}
