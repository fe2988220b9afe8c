package io.marchproxy.xdp;

import java.util.Collections;
import java.util.EnumMap;
import java.util.Map;

/** A snapshot of every counter, summed over the CPUs. */
public record Counters(Map<Counter, Value> values) {

  public record Value(long packets, long bytes) {
    public static final Value ZERO = new Value(0, 0);

    public Value minus(Value other) {
      return new Value(packets - other.packets, bytes - other.bytes);
    }
  }

  public Counters {
    EnumMap<Counter, Value> all = new EnumMap<>(Counter.class);
    for (Counter c : Counter.values()) {
      all.put(c, values.getOrDefault(c, Value.ZERO));
    }
    values = Collections.unmodifiableMap(all);
  }

  public long packets(Counter c) {
    return values.get(c).packets();
  }

  public long bytes(Counter c) {
    return values.get(c).bytes();
  }

  /** Packets seen: the sum of the verdict counters. */
  public long totalPackets() {
    return values.entrySet().stream()
        .filter(e -> e.getKey().kind() == Counter.Kind.VERDICT)
        .mapToLong(e -> e.getValue().packets())
        .sum();
  }

  public long droppedPackets() {
    return values.entrySet().stream()
        .filter(e -> e.getKey().isDrop())
        .mapToLong(e -> e.getValue().packets())
        .sum();
  }

  /** What happened since an earlier snapshot. */
  public Counters minus(Counters earlier) {
    EnumMap<Counter, Value> diff = new EnumMap<>(Counter.class);
    values.forEach((c, v) -> diff.put(c, v.minus(earlier.values.get(c))));
    return new Counters(diff);
  }
}
