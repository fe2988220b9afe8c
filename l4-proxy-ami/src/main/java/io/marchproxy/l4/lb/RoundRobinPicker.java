package io.marchproxy.l4.lb;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Weighted round robin: a schedule laid out once by smooth weighted round robin (so weights 5:1:1
 * give a a b a c a a, not a a a a a b c), walked with one atomic counter.
 */
final class RoundRobinPicker implements Picker {

  static final int MAX_SCHEDULE = 4096;

  private final List<LiveEndpoint> endpoints;
  private final LiveEndpoint[] schedule;
  private final AtomicLong next = new AtomicLong();

  RoundRobinPicker(List<LiveEndpoint> endpoints) {
    this.endpoints = List.copyOf(endpoints);
    this.schedule = schedule(this.endpoints);
    // Start each new picker at a different place so frequent rebuilds do not favour the first.
    next.set(
        java.util.concurrent.ThreadLocalRandom.current().nextInt(Math.max(1, schedule.length)));
  }

  static LiveEndpoint[] schedule(List<LiveEndpoint> endpoints) {
    int n = endpoints.size();
    long[] w = new long[n];
    long total = 0;
    long g = 0;
    for (int i = 0; i < n; i++) {
      w[i] = endpoints.get(i).weight();
      g = gcd(g, w[i]);
    }
    for (int i = 0; i < n; i++) {
      w[i] /= Math.max(1, g);
      total += w[i];
    }
    if (total > MAX_SCHEDULE) {
      double scale = (double) MAX_SCHEDULE / total;
      total = 0;
      for (int i = 0; i < n; i++) {
        w[i] = Math.max(1, Math.round(w[i] * scale));
        total += w[i];
      }
    }
    List<LiveEndpoint> out = new ArrayList<>((int) total);
    long[] current = new long[n];
    for (long k = 0; k < total; k++) {
      int best = -1;
      for (int i = 0; i < n; i++) {
        current[i] += w[i];
        if (best < 0 || current[i] > current[best]) {
          best = i;
        }
      }
      current[best] -= total;
      out.add(endpoints.get(best));
    }
    return out.toArray(new LiveEndpoint[0]);
  }

  private static long gcd(long a, long b) {
    return b == 0 ? a : gcd(b, a % b);
  }

  @Override
  public LiveEndpoint pick(long hash) {
    return schedule[(int) Math.floorMod(next.getAndIncrement(), (long) schedule.length)];
  }

  @Override
  public List<LiveEndpoint> endpoints() {
    return endpoints;
  }
}
