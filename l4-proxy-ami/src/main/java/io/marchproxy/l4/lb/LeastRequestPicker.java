package io.marchproxy.l4.lb;

import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Least connections by the power of two choices: two endpoints at random, the one with fewer
 * connections in flight per unit of weight wins. Close to true least-connections without a scan or
 * a shared lock.
 */
final class LeastRequestPicker implements Picker {

  private final List<LiveEndpoint> endpoints;

  LeastRequestPicker(List<LiveEndpoint> endpoints) {
    this.endpoints = List.copyOf(endpoints);
  }

  @Override
  public LiveEndpoint pick(long hash) {
    int n = endpoints.size();
    if (n == 1) {
      return endpoints.getFirst();
    }
    ThreadLocalRandom r = ThreadLocalRandom.current();
    int a = r.nextInt(n);
    int b = r.nextInt(n - 1);
    if (b >= a) {
      b++;
    }
    LiveEndpoint x = endpoints.get(a);
    LiveEndpoint y = endpoints.get(b);
    // compare active/weight without division: ax/wx <= ay/wy  <=>  ax*wy <= ay*wx
    long left = (long) x.activeConnections() * y.weight();
    long right = (long) y.activeConnections() * x.weight();
    return left <= right ? x : y;
  }

  @Override
  public List<LiveEndpoint> endpoints() {
    return endpoints;
  }
}
