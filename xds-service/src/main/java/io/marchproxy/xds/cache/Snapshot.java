package io.marchproxy.xds.cache;

import java.time.Instant;
import java.util.Map;

/**
 * What one group of proxies (a cluster × data-plane kind) should have, at one revision; {@code
 * committedAt} is when the API committed that revision (null when unknown), the start of the
 * propagation latency a proxy's ACK ends.
 */
public record Snapshot(long revision, Map<String, ResourceSet> byType, Instant committedAt) {

  public Snapshot(long revision, Map<String, ResourceSet> byType) {
    this(revision, byType, null);
  }

  /**
   * Make-before-break: clusters and endpoints reach a proxy before the listeners and routes that
   * use them.
   */
  public static final java.util.List<String> ADD_ORDER =
      java.util.List.of(
          TypeUrls.SECRET, TypeUrls.CLUSTER, TypeUrls.ENDPOINT, TypeUrls.LISTENER, TypeUrls.ROUTE);

  public ResourceSet get(String typeUrl) {
    ResourceSet set = byType.get(typeUrl);
    return set != null ? set : ResourceSet.of(typeUrl, Map.of());
  }
}
