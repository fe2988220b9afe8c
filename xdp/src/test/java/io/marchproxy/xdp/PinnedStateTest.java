package io.marchproxy.xdp;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * A proxy restart: a second load pinned for the same interface finds the first one's budgets,
 * lists, configuration and counters, so a flooding source stays limited across the restart.
 */
class PinnedStateTest {

  @Test
  void secondLoadForTheSameInterfaceKeepsBudgetsListsAndCounters() throws Exception {
    byte[] frame = TestFrame.ipv4("198.51.100.1", "192.0.2.1").tcp(443).build();
    // A burst of 50 at 1/s: the restart (a load takes seconds) refills a few, not the 50 spent.
    XdpConfig config = new XdpConfig(true, Optional.of(new Budget(1, 50)), Optional.empty(), true);
    try (TestNamespaces ns = new TestNamespaces()) {
      String iface = ns.serverIface;
      try {
        var first =
            TestNamespaces.inside(
                ns.serverNamespace,
                () -> {
                  try (XdpProgram p = XdpProgram.load(XdpProgram.LoadOptions.pinnedFor(iface))) {
                    p.maps().protect(443, Set.of(Protocol.TCP));
                    p.maps().deny(Cidr.parse("203.0.113.0/24"));
                    p.maps().configure(config);
                    java.util.List<Verdict> verdicts = new java.util.ArrayList<>();
                    for (int i = 0; i < 51; i++) {
                      verdicts.add(p.testRun(frame).verdict());
                    }
                    return verdicts;
                  }
                });
        assertThat(first.subList(0, 50)).containsOnly(Verdict.PASS);
        assertThat(first.get(50)).isEqualTo(Verdict.DROP);
        assertThat(Path.of("/sys/fs/bpf/marchproxy", iface, "mp_sources_v4")).exists();

        TestNamespaces.inside(
            ns.serverNamespace,
            () -> {
              try (XdpProgram p = XdpProgram.load(XdpProgram.LoadOptions.pinnedFor(iface))) {
                assertThat(p.maps().config()).isEqualTo(config);
                assertThat(p.maps().denyList())
                    .extracting(Cidr::toString)
                    .containsExactly("203.0.113.0/24");
                java.util.List<Verdict> after = new java.util.ArrayList<>();
                for (int i = 0; i < 10; i++) {
                  after.add(p.testRun(frame).verdict());
                }
                assertThat(after)
                    .as("the source's spent budget survived the restart (a fresh one passes 50)")
                    .contains(Verdict.DROP);
                Counters c = p.maps().counters();
                assertThat(c.packets(Counter.PASS) + c.packets(Counter.DROP_RATE_LIMIT))
                    .as("counters survived too")
                    .isEqualTo(61);
                assertThat(c.packets(Counter.DROP_RATE_LIMIT)).isGreaterThanOrEqualTo(2);
              }
              return null;
            });
      } finally {
        XdpProgram.detach(iface);
      }
      assertThat(Path.of("/sys/fs/bpf/marchproxy", iface)).doesNotExist();
    }
  }
}
