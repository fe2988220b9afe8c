package io.marchproxy.xds.translate;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Compact JSON for the filters' plugin configurations, byte-stable: keys in insertion order for a
 * LinkedHashMap or a SortedMap, sorted for any other map; integers as integers.
 */
final class JsonText {

  private JsonText() {}

  static String write(Object value) {
    StringBuilder out = new StringBuilder();
    write(value, out);
    return out.toString();
  }

  private static void write(Object value, StringBuilder out) {
    switch (value) {
      case null -> out.append("null");
      case String s -> string(s, out);
      case Boolean b -> out.append(b);
      case Integer i -> out.append(i);
      case Long l -> out.append(l);
      case Map<?, ?> map -> {
        Map<?, ?> ordered =
            map instanceof java.util.LinkedHashMap<?, ?> || map instanceof java.util.SortedMap<?, ?>
                ? map
                : new TreeMap<>(map);
        out.append('{');
        boolean first = true;
        for (Map.Entry<?, ?> e : ordered.entrySet()) {
          if (!first) {
            out.append(',');
          }
          first = false;
          string((String) e.getKey(), out);
          out.append(':');
          write(e.getValue(), out);
        }
        out.append('}');
      }
      case List<?> list -> {
        out.append('[');
        for (int i = 0; i < list.size(); i++) {
          if (i > 0) {
            out.append(',');
          }
          write(list.get(i), out);
        }
        out.append(']');
      }
      default ->
          throw new IllegalArgumentException("no JSON form for " + value.getClass().getName());
    }
  }

  private static void string(String s, StringBuilder out) {
    out.append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"' -> out.append("\\\"");
        case '\\' -> out.append("\\\\");
        case '\n' -> out.append("\\n");
        case '\r' -> out.append("\\r");
        case '\t' -> out.append("\\t");
        default -> {
          if (c < 0x20 || c == 0x2028 || c == 0x2029) {
            out.append(String.format("\\u%04x", (int) c));
          } else {
            out.append(c);
          }
        }
      }
    }
    out.append('"');
  }
}
