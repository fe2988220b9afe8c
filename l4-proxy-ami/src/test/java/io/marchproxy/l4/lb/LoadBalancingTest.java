package io.marchproxy.l4.lb;

import static org.assertj.core.api.Assertions.assertThat;

import io.marchproxy.l4.config.ClusterSpec;
import io.marchproxy.l4.config.ClusterSpec.LbPolicy;
import io.marchproxy.l4.config.EndpointsSpec;
import io.marchproxy.l4.config.EndpointsSpec.Endpoint;
import java.net.InetAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;

/** Picking endpoints: policies, weights, priorities, ejection; with a clock the test moves. */
class LoadBalancingTest {

  private final AtomicLong now = new AtomicLong(1_000_000_000L);

  private ClusterRuntime cluster(LbPolicy lb, Endpoint... endpoints) {
    ClusterRuntime c =
        new ClusterRuntime(
            new ClusterSpec(
                "svc",
                lb,
                Duration.ofSeconds(1),
                1000,
                null,
                new ClusterSpec.Outlier(2, Duration.ofSeconds(10), 50)),
            now::get);
    c.endpoints(new EndpointsSpec("svc", List.of(endpoints)));
    return c;
  }

  private static Endpoint ep(int n, int weight, int priority) {
    return new Endpoint("127.0.0." + n, 1000 + n, weight, priority, "", true);
  }

  private static InetAddress source(int i) {
    try {
      return InetAddress.getByAddress(new byte[] {10, (byte) (i >> 16), (byte) (i >> 8), (byte) i});
    } catch (java.net.UnknownHostException e) {
      throw new IllegalStateException(e);
    }
  }

  private static String pickOnce(ClusterRuntime c, InetAddress from) {
    var pick = (ClusterRuntime.Chosen) c.pick(from, List.of());
    c.release(pick.endpoint());
    return pick.endpoint().key();
  }

  private static Map<String, Integer> spread(ClusterRuntime c, int n) {
    Map<String, Integer> out = new HashMap<>();
    for (int i = 0; i < n; i++) {
      out.merge(pickOnce(c, source(i)), 1, Integer::sum);
    }
    return out;
  }

  @Test
  void roundRobinFollowsTheWeightsExactly() {
    ClusterRuntime c = cluster(LbPolicy.ROUND_ROBIN, ep(1, 3, 0), ep(2, 1, 0));
    assertThat(spread(c, 400))
        .containsEntry("127.0.0.1:1001", 300)
        .containsEntry("127.0.0.2:1002", 100);
    // smooth: the light endpoint is never starved for long
    var s = RoundRobinPicker.schedule(List.copyOf(c.endpoints()));
    assertThat(s).hasSize(4);
  }

  @ParameterizedTest
  @EnumSource(
      value = LbPolicy.class,
      names = {"RANDOM", "RING_HASH", "MAGLEV", "LEAST_REQUEST"})
  void everyPolicyHonoursWeightsRoughly(LbPolicy policy) {
    ClusterRuntime c = cluster(policy, ep(1, 3, 0), ep(2, 1, 0));
    Map<String, Integer> s = spread(c, 8000);
    if (policy == LbPolicy.LEAST_REQUEST) {
      // with nothing in flight P2C ties; weights only matter under load (next test)
      assertThat(s).hasSize(2);
      return;
    }
    double heavy = s.get("127.0.0.1:1001") / 8000.0;
    assertThat(heavy).isBetween(0.68, 0.82);
  }

  @Test
  void leastRequestAvoidsTheBusyEndpoint() {
    ClusterRuntime c = cluster(LbPolicy.LEAST_REQUEST, ep(1, 1, 0), ep(2, 1, 0));
    // hold 20 connections on whatever is picked first: the next picks go to the other one
    List<LiveEndpoint> held = new ArrayList<>();
    var first = ((ClusterRuntime.Chosen) c.pick(source(0), List.of())).endpoint();
    held.add(first);
    for (int i = 0; i < 20; i++) {
      first.active.incrementAndGet();
    }
    Map<String, Integer> s = spread(c, 100);
    assertThat(s.getOrDefault(first.key(), 0)).isZero();
  }

  @ParameterizedTest
  @EnumSource(
      value = LbPolicy.class,
      names = {"RING_HASH", "MAGLEV"})
  void hashingKeepsASourceOnItsEndpointAndMovesFewWhenOneLeaves(LbPolicy policy) {
    Endpoint[] four = {ep(1, 1, 0), ep(2, 1, 0), ep(3, 1, 0), ep(4, 1, 0)};
    ClusterRuntime c = cluster(policy, four);
    Map<Integer, String> before = new HashMap<>();
    for (int i = 0; i < 2000; i++) {
      before.put(i, pickOnce(c, source(i)));
      assertThat(pickOnce(c, source(i))).isEqualTo(before.get(i));
    }
    c.endpoints(new EndpointsSpec("svc", List.of(four[0], four[1], four[2])));
    int moved = 0;
    for (int i = 0; i < 2000; i++) {
      String after = pickOnce(c, source(i));
      if (!before.get(i).equals("127.0.0.4:1004") && !after.equals(before.get(i))) {
        moved++;
      }
    }
    // only sources of the removed endpoint must move; allow a little disruption (Maglev)
    assertThat(moved).isLessThan(2000 / 10);
  }

  @ParameterizedTest
  @CsvSource({
    // available/total per level -> load per level (Envoy's overprovisioning factor 1.4)
    "'2/2,2/2', '100,0'",
    "'1/2,2/2', '70,30'",
    "'0/2,2/2', '0,100'",
    "'1/4,1/4', '50,50'",
    "'0/2,0/2', '0,0'",
  })
  void priorityLoadSpillsOverLikeEnvoy(String levels, String expected) {
    String[] parts = levels.split(",");
    int[] available = new int[parts.length];
    int[] total = new int[parts.length];
    for (int i = 0; i < parts.length; i++) {
      available[i] = Integer.parseInt(parts[i].split("/")[0]);
      total[i] = Integer.parseInt(parts[i].split("/")[1]);
    }
    int[] load = PriorityLoad.compute(available, total);
    assertThat(load)
        .containsExactly(
            java.util.Arrays.stream(expected.split(",")).mapToInt(Integer::parseInt).toArray());
  }

  @Test
  void connectFailuresEjectAnEndpointUntilItsTimeIsUpAndTrafficGoesToTheNextPriority() {
    ClusterRuntime c = cluster(LbPolicy.ROUND_ROBIN, ep(1, 1, 0), ep(2, 1, 1));
    LiveEndpoint primary =
        c.endpoints().stream().filter(e -> e.priority() == 0).findFirst().orElseThrow();
    assertThat(spread(c, 10)).containsOnlyKeys("127.0.0.1:1001");

    c.connectFailed(primary);
    assertThat(primary.ejected(now.get())).isFalse(); // 1 of 2
    c.connectFailed(primary);
    assertThat(primary.ejected(now.get())).isTrue();
    assertThat(spread(c, 10)).containsOnlyKeys("127.0.0.2:1002");

    now.addAndGet(Duration.ofSeconds(11).toNanos());
    assertThat(spread(c, 10)).containsOnlyKeys("127.0.0.1:1001");
    assertThat(c.healthCounts()).containsEntry("healthy", 2);
  }

  @Test
  void ejectionStopsAtTheMaxPercentButOneCanAlwaysGo() {
    ClusterRuntime c = cluster(LbPolicy.ROUND_ROBIN, ep(1, 1, 0), ep(2, 1, 0));
    List<LiveEndpoint> all = List.copyOf(c.endpoints());
    for (LiveEndpoint e : all) {
      c.connectFailed(e);
      c.connectFailed(e);
    }
    assertThat(c.healthCounts()).containsEntry("ejected", 1).containsEntry("healthy", 1);
  }

  @Test
  void whenNothingIsAvailableTheFirstLevelIsTriedAnyway() {
    ClusterRuntime c =
        cluster(LbPolicy.ROUND_ROBIN, new Endpoint("127.0.0.1", 1001, 1, 0, "", false));
    assertThat(pickOnce(c, source(1))).isEqualTo("127.0.0.1:1001");
    assertThat(c.panic()).isTrue();
  }

  @Test
  void theCircuitBreakerCapsConnectionsPerCluster() {
    ClusterRuntime c =
        new ClusterRuntime(
            new ClusterSpec(
                "svc",
                LbPolicy.ROUND_ROBIN,
                Duration.ofSeconds(1),
                2,
                null,
                ClusterSpec.Outlier.DEFAULT),
            now::get);
    c.endpoints(new EndpointsSpec("svc", List.of(ep(1, 1, 0))));
    assertThat(c.pick(source(1), List.of())).isInstanceOf(ClusterRuntime.Chosen.class);
    assertThat(c.pick(source(1), List.of())).isInstanceOf(ClusterRuntime.Chosen.class);
    assertThat(c.pick(source(1), List.of())).isEqualTo(new ClusterRuntime.Overloaded(2));
  }

  @Test
  void anEndpointThatStaysKeepsItsStateAcrossUpdates() {
    ClusterRuntime c = cluster(LbPolicy.ROUND_ROBIN, ep(1, 1, 0));
    LiveEndpoint before = c.endpoints().iterator().next();
    before.active.set(5);
    c.endpoints(new EndpointsSpec("svc", List.of(ep(1, 7, 0), ep(2, 1, 0))));
    LiveEndpoint after =
        c.endpoints().stream().filter(e -> e.key().equals(before.key())).findFirst().orElseThrow();
    assertThat(after).isSameAs(before);
    assertThat(after.weight()).isEqualTo(7);
    assertThat(after.activeConnections()).isEqualTo(5);
  }
}
