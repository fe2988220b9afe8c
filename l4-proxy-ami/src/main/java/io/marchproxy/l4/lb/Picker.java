package io.marchproxy.l4.lb;

import io.marchproxy.l4.config.ClusterSpec.LbPolicy;
import java.util.List;

/**
 * Chooses one endpoint of a priority level. Built once per change of the level's available
 * endpoints and then shared by every event loop, so picking takes no lock.
 */
sealed interface Picker
    permits RoundRobinPicker, LeastRequestPicker, RandomPicker, RingHashPicker, MaglevPicker {

  /** {@code hash} is the source address hash (used by the hashing policies). */
  LiveEndpoint pick(long hash);

  List<LiveEndpoint> endpoints();

  static Picker of(LbPolicy policy, List<LiveEndpoint> endpoints) {
    return switch (policy) {
      case ROUND_ROBIN -> new RoundRobinPicker(endpoints);
      case LEAST_REQUEST -> new LeastRequestPicker(endpoints);
      case RANDOM -> new RandomPicker(endpoints);
      case RING_HASH -> new RingHashPicker(endpoints, 1024);
      case MAGLEV -> new MaglevPicker(endpoints, MaglevPicker.TABLE_SIZE);
    };
  }
}
