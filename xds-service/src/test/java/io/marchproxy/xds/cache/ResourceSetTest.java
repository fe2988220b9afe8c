package io.marchproxy.xds.cache;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.Message;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** {@link ResourceSet}: the same content gives the same versions whichever way it was built. */
class ResourceSetTest {

  static Map<String, Message> clusters(int n, boolean reversed, int port) {
    List<Integer> order = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      order.add(i);
    }
    if (reversed) {
      Collections.reverse(order);
    }
    Map<String, Message> out = new LinkedHashMap<>();
    for (int i : order) {
      String name = String.format("svc-%05d", i);
      out.put(
          name,
          Cluster.newBuilder()
              .setName(name)
              .setType(Cluster.DiscoveryType.EDS)
              .setPerConnectionBufferLimitBytes(com.google.protobuf.UInt32Value.of(port + i % 7))
              .build());
    }
    return out;
  }

  @Test
  void aLargeSetBuiltInParallelHasTheVersionsOfItsResourcesBuiltOneByOne() {
    int n = ResourceSet.PARALLEL + 500;
    Map<String, Message> forward = clusters(n, false, 1000);
    ResourceSet big = ResourceSet.of(TypeUrls.CLUSTER, forward);
    assertThat(ResourceSet.of(TypeUrls.CLUSTER, clusters(n, true, 1000)).version())
        .as("insertion order does not matter")
        .isEqualTo(big.version());
    List<String> names = new ArrayList<>(forward.keySet());
    Collections.sort(names);
    assertThat(big.all()).hasSize(n);
    for (int i = 0; i < n; i += 97) {
      String name = names.get(i);
      ResourceSet one = ResourceSet.of(TypeUrls.CLUSTER, Map.of(name, forward.get(name)));
      assertThat(big.entry(name).version()).isEqualTo(one.entry(name).version());
      assertThat(big.entry(name).packed()).isEqualTo(one.entry(name).packed());
      assertThat(big.all().get(i)).as("in name order").isSameAs(forward.get(name));
    }
    ResourceSet changed = ResourceSet.of(TypeUrls.CLUSTER, clusters(n, false, 2000));
    assertThat(changed.version()).isNotEqualTo(big.version());
  }

  @Test
  void aMessageKeptFromThePreviousSetKeepsItsEntry() {
    int n = ResourceSet.PARALLEL + 10;
    Map<String, Message> first = clusters(n, false, 1000);
    ResourceSet before = ResourceSet.of(TypeUrls.CLUSTER, first);
    Map<String, Message> next = new LinkedHashMap<>(first);
    String changed = "svc-00003";
    next.put(changed, ((Cluster) first.get(changed)).toBuilder().setAltStatName("x").build());
    ResourceSet after = ResourceSet.of(TypeUrls.CLUSTER, next, before);
    assertThat(after.entry("svc-00004")).isSameAs(before.entry("svc-00004"));
    assertThat(after.entry(changed)).isNotSameAs(before.entry(changed));
    assertThat(after.entry(changed).version()).isNotEqualTo(before.entry(changed).version());
    assertThat(after.version())
        .isEqualTo(ResourceSet.of(TypeUrls.CLUSTER, next).version())
        .isNotEqualTo(before.version());
  }
}
