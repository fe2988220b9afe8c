package io.marchproxy.xds.load;

import io.marchproxy.core.config.ClusterConfig;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * A service that did not change between two revisions is handed on as the very same object. The
 * translator remembers what it built for each service object, so a write to one service of 1,000
 * rebuilds that one service's cluster and assignment; the others — the same messages as before —
 * keep their versions without being hashed again. One value comparison per service per revision.
 */
final class SameServices {

  private SameServices() {}

  static ClusterConfig reuse(ClusterConfig previous, ClusterConfig next) {
    if (previous == null || previous.services() == null || next.services() == null) {
      return next;
    }
    Map<UUID, ClusterConfig.Service> before = new HashMap<>(previous.services().size() * 2);
    for (ClusterConfig.Service s : previous.services()) {
      if (s != null && s.id() != null) {
        before.put(s.id(), s);
      }
    }
    List<ClusterConfig.Service> services = new ArrayList<>(next.services().size());
    for (ClusterConfig.Service s : next.services()) {
      ClusterConfig.Service same = s == null || s.id() == null ? null : before.get(s.id());
      services.add(same != null && same.equals(s) ? same : s);
    }
    return new ClusterConfig(
        next.schema(),
        next.cluster(),
        services,
        next.routes(),
        next.mappings(),
        next.certificates());
  }
}
