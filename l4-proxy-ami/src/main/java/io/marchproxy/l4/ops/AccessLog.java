package io.marchproxy.l4.ops;

import java.time.Instant;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One JSON line per connection or UDP session when it ends (refused ones too): when it started and
 * ended, who it came from, which backend it went to, the bytes each way and the verdict.
 */
public final class AccessLog {

  /** What one connection did. {@code backend} is empty when none was reached. */
  public record Entry(
      String listener,
      String protocol,
      String client,
      String source,
      String backend,
      String verdict,
      Instant start,
      Instant end,
      long bytesFromClient,
      long bytesToClient) {}

  private static final Logger ACCESS = LoggerFactory.getLogger("marchproxy.access");

  private final Consumer<String> sink;

  private AccessLog(Consumer<String> sink) {
    this.sink = sink;
  }

  /** Lines go to the {@code marchproxy.access} logger (stdout, see logback.xml). */
  public static AccessLog toLogger() {
    return new AccessLog(ACCESS::info);
  }

  public static AccessLog to(Consumer<String> sink) {
    return new AccessLog(sink);
  }

  public static AccessLog off() {
    return new AccessLog(null);
  }

  public boolean enabled() {
    return sink != null;
  }

  public void write(Entry e) {
    if (sink == null) {
      return;
    }
    StringBuilder b = new StringBuilder(320);
    b.append('{');
    field(b, "start", e.start().toString()).append(',');
    field(b, "end", e.end().toString()).append(',');
    b.append("\"durationMs\":")
        .append(e.end().toEpochMilli() - e.start().toEpochMilli())
        .append(',');
    field(b, "listener", e.listener()).append(',');
    field(b, "protocol", e.protocol()).append(',');
    field(b, "client", e.client()).append(',');
    field(b, "source", e.source()).append(',');
    field(b, "backend", e.backend()).append(',');
    field(b, "verdict", e.verdict()).append(',');
    b.append("\"bytesFromClient\":").append(e.bytesFromClient()).append(',');
    b.append("\"bytesToClient\":").append(e.bytesToClient());
    b.append('}');
    sink.accept(b.toString());
  }

  private static StringBuilder field(StringBuilder b, String name, String value) {
    b.append('"').append(name).append("\":\"");
    String v = value == null ? "" : value;
    for (int i = 0; i < v.length(); i++) {
      char c = v.charAt(i);
      switch (c) {
        case '"' -> b.append("\\\"");
        case '\\' -> b.append("\\\\");
        default -> {
          if (c < 0x20) {
            b.append(String.format("\\u%04x", (int) c));
          } else {
            b.append(c);
          }
        }
      }
    }
    return b.append('"');
  }
}
