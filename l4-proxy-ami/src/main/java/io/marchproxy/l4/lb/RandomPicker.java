package io.marchproxy.l4.lb;

import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/** Weighted random: a binary search over cumulative weights. */
final class RandomPicker implements Picker {

  private final List<LiveEndpoint> endpoints;
  private final long[] cumulative;

  RandomPicker(List<LiveEndpoint> endpoints) {
    this.endpoints = List.copyOf(endpoints);
    this.cumulative = new long[endpoints.size()];
    long sum = 0;
    for (int i = 0; i < endpoints.size(); i++) {
      sum += endpoints.get(i).weight();
      cumulative[i] = sum;
    }
  }

  @Override
  public LiveEndpoint pick(long hash) {
    long x = ThreadLocalRandom.current().nextLong(cumulative[cumulative.length - 1]);
    int i = Arrays.binarySearch(cumulative, x + 1);
    return endpoints.get(i >= 0 ? i : -i - 1);
  }

  @Override
  public List<LiveEndpoint> endpoints() {
    return endpoints;
  }
}
