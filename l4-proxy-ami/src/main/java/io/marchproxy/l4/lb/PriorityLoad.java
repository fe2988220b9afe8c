package io.marchproxy.l4.lb;

/**
 * How traffic splits across priority levels, as Envoy computes it: a level's health is the share of
 * its endpoints available, times the overprovisioning factor 1.4, capped at 100%; levels take load
 * in order up to their health, and what is left spills to the next. When the levels together are
 * less than 100% healthy, the loads are scaled up to 100%.
 */
final class PriorityLoad {

  static final double OVERPROVISIONING = 1.4;

  private PriorityLoad() {}

  /** Percent of traffic per level, summing to 100 (all zero when nothing is available). */
  static int[] compute(int[] available, int[] total) {
    int levels = available.length;
    int[] health = new int[levels];
    int healthSum = 0;
    for (int p = 0; p < levels; p++) {
      health[p] =
          total[p] == 0
              ? 0
              : (int) Math.min(100, Math.floor(OVERPROVISIONING * 100 * available[p] / total[p]));
      healthSum += health[p];
    }
    int[] load = new int[levels];
    if (healthSum == 0) {
      return load;
    }
    int remaining = 100;
    for (int p = 0; p < levels && remaining > 0; p++) {
      int share = healthSum >= 100 ? health[p] : (int) Math.round(health[p] * 100.0 / healthSum);
      load[p] = Math.min(remaining, share);
      remaining -= load[p];
    }
    // rounding leftovers go to the first level that has any load
    for (int p = 0; p < levels && remaining > 0; p++) {
      if (health[p] > 0) {
        load[p] += remaining;
        remaining = 0;
      }
    }
    return load;
  }
}
