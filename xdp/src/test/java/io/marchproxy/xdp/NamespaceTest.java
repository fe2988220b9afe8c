package io.marchproxy.xdp;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The program on a real veth pair between two namespaces this test creates: one client address
 * floods a protected UDP port, another sends a trickle; the server counts what arrives. All traffic
 * stays inside the two namespaces, and both are deleted afterwards, also on failure.
 */
class NamespaceTest {
  private static final int PORT = 9000;
  private static final int FLOOD = 1000;
  private static final int TRICKLE = 50;
  private static final Budget BUDGET = new Budget(20, 100);

  private TestNamespaces veth;
  private XdpProgram program;
  private Attachment attachment;

  @BeforeEach
  void createNamespaces() throws Exception {
    veth = new TestNamespaces();
  }

  @AfterEach
  void tearDown() throws Exception {
    try {
      if (attachment != null) {
        TestNamespaces.inside(veth.serverNamespace, () -> program.detach(attachment));
      }
    } finally {
      if (program != null) {
        program.close();
      }
      veth.close();
    }
  }

  @ParameterizedTest
  @EnumSource(AttachMode.class)
  void floodFromOneSourceIsRateLimitedWhileAnotherSourcePasses(AttachMode mode) throws Exception {
    program = XdpProgram.load();
    program.maps().configure(new XdpConfig(true, Optional.of(BUDGET), Optional.empty(), true));
    program.maps().protect(PORT, Set.of(Protocol.UDP));
    attachment =
        TestNamespaces.inside(veth.serverNamespace, () -> program.attach(veth.serverIface, mode));
    System.out.println(
        "XDP attached in "
            + attachment.mode()
            + " mode"
            + attachment.fallbackReason().map(r -> " (" + r + ")").orElse(""));

    DatagramChannel server =
        TestNamespaces.inside(
            veth.serverNamespace,
            () -> {
              DatagramChannel ch = DatagramChannel.open();
              ch.setOption(StandardSocketOptions.SO_RCVBUF, 4 << 20);
              ch.bind(new InetSocketAddress(TestNamespaces.SERVER_ADDRESS, PORT));
              ch.configureBlocking(false);
              return ch;
            });
    Counters before = program.maps().counters();
    long floodNanos;
    try (server) {
      floodNanos =
          TestNamespaces.inside(
              veth.clientNamespace,
              () -> {
                try (DatagramChannel flood = DatagramChannel.open();
                    DatagramChannel trickle = DatagramChannel.open()) {
                  flood.bind(new InetSocketAddress(TestNamespaces.CLIENT_ADDRESS, 0));
                  trickle.bind(new InetSocketAddress(TestNamespaces.SECOND_CLIENT_ADDRESS, 0));
                  InetSocketAddress to = new InetSocketAddress(TestNamespaces.SERVER_ADDRESS, PORT);
                  long start = System.nanoTime();
                  for (int i = 0; i < FLOOD; i++) {
                    flood.send(ByteBuffer.wrap(("GET /" + i + " HTTP/1.1\r\n").getBytes()), to);
                    if (i % (FLOOD / TRICKLE) == 0) {
                      trickle.send(
                          ByteBuffer.wrap(("GET /t" + i + " HTTP/1.1\r\n").getBytes()), to);
                    }
                    if (i % 50 == 49) {
                      // Paced by what XDP has seen, so the veth ring (256 frames) never
                      // overflows before the program gets the packets, however busy the host.
                      awaitSeen(before, i + 1 + i / (FLOOD / TRICKLE) + 1);
                    }
                  }
                  return System.nanoTime() - start;
                }
              });

      Counters sent = program.maps().counters().minus(before);
      Map<String, Integer> received = receiveUntil(server, sent.packets(Counter.PASS));

      int fromFlood = received.getOrDefault(TestNamespaces.CLIENT_ADDRESS, 0);
      int fromTrickle = received.getOrDefault(TestNamespaces.SECOND_CLIENT_ADDRESS, 0);
      assertThat(fromTrickle).as("the second source passes untouched").isEqualTo(TRICKLE);
      // The budget refills at 20/s while the flood lasts (coarse clock: allow one more interval).
      long refill = (long) Math.ceil(BUDGET.perSecond() * (floodNanos / 1e9 + 0.05));
      assertThat(fromFlood).isBetween((int) BUDGET.burst(), (int) (BUDGET.burst() + refill));
      assertThat(sent.packets(Counter.PASS)).isEqualTo(fromFlood + fromTrickle);
      assertThat(sent.packets(Counter.DROP_RATE_LIMIT)).isEqualTo(FLOOD - fromFlood);
      assertThat(sent.packets(Counter.PASS) + sent.packets(Counter.DROP_RATE_LIMIT))
          .as("every packet sent is counted once")
          .isEqualTo(FLOOD + TRICKLE);
      assertThat(sent.packets(Counter.NEW_SOURCE)).isEqualTo(2);
      assertThat(sent.packets(Counter.CLASS_HTTP_GET)).isEqualTo(fromFlood + fromTrickle);
    }
  }

  @Test
  void whereNativeXdpIsRefusedAttachFallsBackToGenericAndSaysWhy() throws Exception {
    // A bridge has no driver support for XDP, like many virtual devices.
    String bridge = "mpb" + veth.serverIface.substring(3);
    TestNamespaces.ip("-n", veth.serverNamespace, "link", "add", bridge, "type", "bridge");
    TestNamespaces.ip("-n", veth.serverNamespace, "link", "set", bridge, "up");
    program = XdpProgram.load();

    attachment =
        TestNamespaces.inside(
            veth.serverNamespace, () -> program.attach(bridge, AttachMode.NATIVE));

    assertThat(attachment.mode()).isEqualTo(AttachMode.GENERIC);
    assertThat(attachment.fallbackReason())
        .hasValueSatisfying(why -> assertThat(why).startsWith("native XDP refused by " + bridge));
  }

  private void awaitSeen(Counters before, long packets) throws InterruptedException {
    long deadline = System.nanoTime() + 5_000_000_000L;
    while (System.nanoTime() < deadline) {
      Counters seen = program.maps().counters().minus(before);
      if (seen.packets(Counter.PASS) + seen.packets(Counter.DROP_RATE_LIMIT) >= packets) {
        return;
      }
      Thread.sleep(1);
    }
  }

  private static Map<String, Integer> receiveUntil(DatagramChannel server, long expected)
      throws Exception {
    Map<String, Integer> bySource = new HashMap<>();
    ByteBuffer buf = ByteBuffer.allocate(2048);
    long deadline = System.nanoTime() + 5_000_000_000L;
    int total = 0;
    while (total < expected && System.nanoTime() < deadline) {
      buf.clear();
      InetSocketAddress from = (InetSocketAddress) server.receive(buf);
      if (from == null) {
        Thread.sleep(5);
        continue;
      }
      bySource.merge(from.getAddress().getHostAddress(), 1, Integer::sum);
      total++;
    }
    return bySource;
  }
}
