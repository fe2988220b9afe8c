package io.marchproxy.xds.cache;

import java.util.Map;

/** What one group of proxies (a cluster × data-plane kind) should have, at one revision. */
public record Snapshot(long revision, Map<String, ResourceSet> byType) {

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
