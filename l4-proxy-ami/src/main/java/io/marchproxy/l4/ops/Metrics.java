package io.marchproxy.l4.ops;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Consumer;

/**
 * The proxy's metrics in Prometheus text format. Counters are {@link LongAdder}s that the hot path
 * keeps references to (no lookup per connection); gauges are read when scraped.
 */
public final class Metrics {

  public static final String PREFIX = "marchproxy_l4_";

  private record Family(String name, String help, String type) {}

  /** Samples of a gauge family, written at scrape time. */
  public interface GaugeSink {
    void sample(double value, String... labels);
  }

  private final Map<String, Family> families = new ConcurrentSkipListMap<>();
  private final Map<String, Map<String, LongAdder>> counters = new ConcurrentHashMap<>();
  private final Map<String, Consumer<GaugeSink>> gauges = new ConcurrentHashMap<>();

  /** The counter of this name and label set ({@code key, value, key, value, ...}). */
  public LongAdder counter(String name, String help, String... labels) {
    families.putIfAbsent(PREFIX + name, new Family(PREFIX + name, help, "counter"));
    return counters
        .computeIfAbsent(PREFIX + name, k -> new ConcurrentHashMap<>())
        .computeIfAbsent(labels(labels), k -> new LongAdder());
  }

  /** A gauge family whose samples {@code reader} writes at each scrape. */
  public void gauge(String name, String help, Consumer<GaugeSink> reader) {
    families.put(PREFIX + name, new Family(PREFIX + name, help, "gauge"));
    gauges.put(PREFIX + name, reader);
  }

  /** A counter family kept elsewhere (e.g. per cluster), read at each scrape. */
  public void counterFamily(String name, String help, Consumer<GaugeSink> reader) {
    families.put(PREFIX + name, new Family(PREFIX + name, help, "counter"));
    gauges.put(PREFIX + name, reader);
  }

  /** Drops the counters of a label value that no longer exists (a removed listener). */
  public void forget(String labelKey, String labelValue) {
    String needle = labelKey + "=\"" + escape(labelValue) + "\"";
    for (var m : counters.values()) {
      m.keySet().removeIf(k -> k.contains(needle));
    }
  }

  public String scrape() {
    StringBuilder out = new StringBuilder(4096);
    for (Family f : families.values()) {
      out.append("# HELP ").append(f.name()).append(' ').append(f.help()).append('\n');
      out.append("# TYPE ").append(f.name()).append(' ').append(f.type()).append('\n');
      if (!gauges.containsKey(f.name())) {
        for (var e :
            new java.util.TreeMap<>(counters.getOrDefault(f.name(), Map.of())).entrySet()) {
          line(out, f.name(), e.getKey(), e.getValue().sum());
        }
      } else {
        List<String> lines = new ArrayList<>();
        try {
          gauges
              .get(f.name())
              .accept(
                  (value, labels) -> {
                    StringBuilder b = new StringBuilder();
                    line(b, f.name(), labels(labels), value);
                    lines.add(b.toString());
                  });
        } catch (RuntimeException e) {
          // a gauge that fails to read is left out rather than failing the scrape
        }
        lines.stream().sorted().forEach(out::append);
      }
    }
    return out.toString();
  }

  private static void line(StringBuilder out, String name, String labels, double value) {
    out.append(name);
    if (!labels.isEmpty()) {
      out.append('{').append(labels).append('}');
    }
    out.append(' ');
    if (value == Math.rint(value) && Math.abs(value) < 1e15) {
      out.append((long) value);
    } else {
      out.append(value);
    }
    out.append('\n');
  }

  private static String labels(String... kv) {
    if (kv.length % 2 != 0) {
      throw new IllegalArgumentException("labels come in key, value pairs");
    }
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < kv.length; i += 2) {
      if (i > 0) {
        b.append(',');
      }
      b.append(kv[i]).append("=\"").append(escape(kv[i + 1])).append('"');
    }
    return b.toString();
  }

  private static String escape(String v) {
    return v.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n");
  }
}
