package io.marchproxy.l4.lb;

import java.util.Arrays;
import java.util.List;

/**
 * Consistent hashing on a ring (ketama style): each endpoint owns a number of points in proportion
 * to its weight; a source maps to the first point at or after its hash. Removing an endpoint moves
 * only the sources that were on it.
 */
final class RingHashPicker implements Picker {

  private final List<LiveEndpoint> endpoints;
  private final long[] points;
  private final LiveEndpoint[] owners;

  RingHashPicker(List<LiveEndpoint> endpoints, int minRingSize) {
    this.endpoints = List.copyOf(endpoints);
    long total = endpoints.stream().mapToLong(LiveEndpoint::weight).sum();
    int size = 0;
    int[] replicas = new int[endpoints.size()];
    for (int i = 0; i < replicas.length; i++) {
      replicas[i] =
          (int) Math.max(1, Math.ceil((double) endpoints.get(i).weight() * minRingSize / total));
      size += replicas[i];
    }
    long[][] entries = new long[size][2];
    int k = 0;
    for (int i = 0; i < replicas.length; i++) {
      String key = endpoints.get(i).key();
      for (int r = 0; r < replicas[i]; r++) {
        entries[k][0] = Hashing.hash(key + "_" + r);
        entries[k][1] = i;
        k++;
      }
    }
    Arrays.sort(entries, (a, b) -> Long.compareUnsigned(a[0], b[0]));
    points = new long[size];
    owners = new LiveEndpoint[size];
    for (int i = 0; i < size; i++) {
      points[i] = entries[i][0];
      owners[i] = endpoints.get((int) entries[i][1]);
    }
  }

  @Override
  public LiveEndpoint pick(long hash) {
    int lo = 0;
    int hi = points.length;
    while (lo < hi) {
      int mid = (lo + hi) >>> 1;
      if (Long.compareUnsigned(points[mid], hash) < 0) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    return owners[lo == points.length ? 0 : lo];
  }

  @Override
  public List<LiveEndpoint> endpoints() {
    return endpoints;
  }
}
