package io.marchproxy.xds.cache;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.Message;
import io.envoyproxy.controlplane.cache.Response;
import io.envoyproxy.controlplane.cache.XdsRequest;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * By-name selections as {@link SnapshotCache} hands them to the server: resolved once per group,
 * shared (the very same object) between streams that ask for the same names at the same version,
 * and never reused for a stream whose names, version or deliveries differ.
 */
class SnapshotCacheSelectionTest {

  private final ExecutorService pool = Executors.newFixedThreadPool(2);
  private final SnapshotCache cache = new SnapshotCache(node -> "g", pool);

  @AfterEach
  void stop() {
    pool.shutdownNow();
  }

  static Snapshot endpoints(long revision, int port, String... names) {
    return endpoints(revision, port, 140, names);
  }

  /** Assignments whose content is {@code port}, except "d"'s, which is {@code d}. */
  static Snapshot endpoints(long revision, int port, int d, String... names) {
    Map<String, Message> byName = new LinkedHashMap<>();
    for (String n : names) {
      byName.put(
          n,
          ClusterLoadAssignment.newBuilder()
              .setClusterName(n)
              .setPolicy(
                  ClusterLoadAssignment.Policy.newBuilder()
                      .setOverprovisioningFactor(
                          com.google.protobuf.UInt32Value.of(n.equals("d") ? d : port)))
              .build());
    }
    return new Snapshot(
        revision, Map.of(TypeUrls.ENDPOINT, ResourceSet.of(TypeUrls.ENDPOINT, byName)));
  }

  /** One watch: the response it got (null when none within the wait). */
  Response ask(String node, String version, List<String> names, long waitMs)
      throws InterruptedException {
    BlockingQueue<Response> got = new LinkedBlockingQueue<>();
    var request =
        DiscoveryRequest.newBuilder()
            .setNode(Node.newBuilder().setId(node))
            .setTypeUrl(TypeUrls.ENDPOINT)
            .setVersionInfo(version)
            .addAllResourceNames(names)
            .build();
    cache.createWatch(true, XdsRequest.create(request), Set.of(), got::add, false, false);
    return got.poll(waitMs, TimeUnit.MILLISECONDS);
  }

  static List<String> names(Response r) {
    return r.resources().stream().map(m -> ((ClusterLoadAssignment) m).getClusterName()).toList();
  }

  @Test
  void theSameNamesAtTheSameVersionShareOneSelectionOtherNamesDoNot() throws Exception {
    cache.setSnapshot("g", endpoints(1, 100, "a", "b", "c"));
    Response x = ask("x", "", List.of("a", "b"), 5000);
    Response y = ask("y", "", List.of("a", "b"), 5000);
    Response z = ask("z", "", List.of("b", "c", "b", "missing"), 5000);
    assertThat(names(x)).containsExactly("a", "b");
    assertThat(y.resources()).isSameAs(x.resources()).isInstanceOf(Selection.class);
    assertThat(names(z)).as("deduplicated, absent names skipped").containsExactly("b", "c");
    Selection s = (Selection) x.resources();
    ResourceSet set = cache.snapshot("g").orElseThrow().get(TypeUrls.ENDPOINT);
    assertThat(s.packed())
        .containsExactly(set.entry("a").packed(), set.entry("b").packed())
        .isSameAs(s.packed());
  }

  @Test
  void aStreamGetsWhatItLacksEvenWhenAnotherStreamAskedTheSame() throws Exception {
    cache.setSnapshot("g", endpoints(1, 100, "a", "b", "c", "d"));
    Response x1 = ask("x", "", List.of("a", "b"), 5000);
    String v1 = x1.version();
    // x ACKs: same names, same version, nothing to send
    assertThat(ask("x", v1, List.of("a", "b"), 300)).isNull();
    // x grows its subscription at the version it holds: only the new name
    Response grown = ask("x", v1, List.of("a", "b", "c"), 5000);
    assertThat(names(grown)).containsExactly("c");
    // y asks the grown names at v1 without having been sent anything: it gets all three
    Response y = ask("y", v1, List.of("a", "b", "c"), 5000);
    assertThat(names(y)).containsExactly("a", "b", "c");

    // A new version: only "a", "b", "c" change ("d" keeps its content).
    cache.setSnapshot("g", endpoints(2, 200, "a", "b", "c", "d"));
    Response x2 = ask("x", v1, List.of("a", "b", "c", "d"), 5000);
    // d was never sent to x: it comes too, though unchanged
    assertThat(names(x2)).containsExactly("a", "b", "c", "d");
    Response y2 = ask("y", v1, List.of("a", "b", "c"), 5000);
    assertThat(names(y2)).containsExactly("a", "b", "c");
    Response z2 = ask("z", "a-version-it-never-had", List.of("a", "b", "c"), 5000);
    assertThat(names(z2)).containsExactly("a", "b", "c");
    String v2 = x2.version();
    assertThat(ask("x", v2, List.of("a", "b", "c", "d"), 300)).isNull();

    // Only "d" changes: a stream holding v2 with every name sent gets just "d"...
    cache.setSnapshot("g", endpoints(3, 200, 150, "a", "b", "c", "d", "e"));
    Response x3 = ask("x", v2, List.of("a", "b", "c", "d"), 5000);
    assertThat(names(x3)).containsExactly("d");
    // ...and one that also holds v2 but asks for a name that now exists gets it as well.
    Response y3 = ask("y", v2, List.of("a", "b", "c", "e"), 5000);
    assertThat(names(y3)).containsExactly("e");
  }

  @Test
  void aNameAskedForBeforeItExistedIsSentOnceItDoes() throws Exception {
    cache.setSnapshot("g", endpoints(1, 100, "a"));
    Response x1 = ask("x", "", List.of("a", "later"), 5000);
    assertThat(names(x1)).containsExactly("a");
    assertThat(ask("x", x1.version(), List.of("a", "later"), 300)).isNull();
    cache.setSnapshot("g", endpoints(2, 100, "a", "later"));
    Response x2 = ask("x", x1.version(), List.of("a", "later"), 5000);
    assertThat(names(x2)).containsExactly("later");
  }
}
