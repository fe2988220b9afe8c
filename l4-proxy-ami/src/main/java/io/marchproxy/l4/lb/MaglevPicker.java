package io.marchproxy.l4.lb;

import java.util.List;

/**
 * Maglev consistent hashing (Eisenbud et al., NSDI 2016), weighted the way Envoy does it: each
 * endpoint fills table slots along its own permutation, taking turns in proportion to its weight.
 * Lookups are one array index; a changed endpoint set moves few sources.
 */
final class MaglevPicker implements Picker {

  static final int TABLE_SIZE = 65537; // prime

  private final List<LiveEndpoint> endpoints;
  private final LiveEndpoint[] table;

  MaglevPicker(List<LiveEndpoint> endpoints, int size) {
    this.endpoints = List.copyOf(endpoints);
    int n = endpoints.size();
    long[] offset = new long[n];
    long[] skip = new long[n];
    long[] next = new long[n];
    double[] weight = new double[n];
    double[] target = new double[n];
    double max = 0;
    for (int i = 0; i < n; i++) {
      String key = endpoints.get(i).key();
      offset[i] = Long.remainderUnsigned(Hashing.hash(key), size);
      skip[i] = Long.remainderUnsigned(Hashing.hash(key + "#skip"), size - 1) + 1;
      weight[i] = endpoints.get(i).weight();
      max = Math.max(max, weight[i]);
    }
    table = new LiveEndpoint[size];
    int filled = 0;
    outer:
    while (true) {
      for (int i = 0; i < n; i++) {
        target[i] += weight[i];
        if (target[i] < max) {
          continue;
        }
        target[i] -= max;
        int slot;
        do {
          slot = (int) ((offset[i] + skip[i] * next[i]) % size);
          next[i]++;
        } while (table[slot] != null);
        table[slot] = endpoints.get(i);
        if (++filled == size) {
          break outer;
        }
      }
    }
  }

  @Override
  public LiveEndpoint pick(long hash) {
    return table[(int) Long.remainderUnsigned(hash, table.length)];
  }

  @Override
  public List<LiveEndpoint> endpoints() {
    return endpoints;
  }
}
