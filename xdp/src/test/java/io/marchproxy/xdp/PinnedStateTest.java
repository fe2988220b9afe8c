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
    XdpConfig config = new XdpConfig(true, Optional.of(new Budget(1, 2)), Optional.empty(), true);
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
                    return java.util.List.of(
                        p.testRun(frame).verdict(),
                        p.testRun(frame).verdict(),
                        p.testRun(frame).verdict());
                  }
                });
        assertThat(first).containsExactly(Verdict.PASS, Verdict.PASS, Verdict.DROP);
        assertThat(Path.of("/sys/fs/bpf/marchproxy", iface, "mp_sources_v4")).exists();

        TestNamespaces.inside(
            ns.serverNamespace,
            () -> {
              try (XdpProgram p = XdpProgram.load(XdpProgram.LoadOptions.pinnedFor(iface))) {
                assertThat(p.maps().config()).isEqualTo(config);
                assertThat(p.maps().denyList())
                    .extracting(Cidr::toString)
                    .containsExactly("203.0.113.0/24");
                assertThat(p.testRun(frame).verdict())
                    .as("the source's spent budget survived the restart")
                    .isEqualTo(Verdict.DROP);
                Counters c = p.maps().counters();
                assertThat(c.packets(Counter.PASS)).isEqualTo(2);
                assertThat(c.packets(Counter.DROP_RATE_LIMIT)).isEqualTo(2);
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
