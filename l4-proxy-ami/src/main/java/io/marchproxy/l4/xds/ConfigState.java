package io.marchproxy.l4.xds;

import com.google.protobuf.Any;
import io.marchproxy.l4.config.ConfigRejected;
import io.marchproxy.l4.config.ProxyConfig;
import io.marchproxy.l4.ops.Metrics;
import io.marchproxy.l4.runtime.ProxyRuntime;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Between the xDS stream and the running proxy: an update of one type becomes a candidate (the
 * other types as accepted), is read and applied as a whole, and becomes current only if that worked
 * — else the proxy keeps what it runs and the caller NACKs with the reason. Every accepted state is
 * written to the disk cache.
 */
public final class ConfigState {

  private static final Logger log = LoggerFactory.getLogger(ConfigState.class);

  public enum Source {
    NONE,
    DISK,
    XDS
  }

  private final ProxyRuntime runtime;
  private final DiskCache cache;
  private final Metrics metrics;
  private volatile Resources current = Resources.EMPTY;
  private volatile Source source = Source.NONE;
  private volatile String lastError = "";
  private final Map<String, LongAdder> outcomes = new ConcurrentHashMap<>();

  public ConfigState(ProxyRuntime runtime, DiskCache cache, Metrics metrics) {
    this.runtime = runtime;
    this.cache = cache;
    this.metrics = metrics;
    metrics.gauge(
        "config_source",
        "Where the running config came from (1 on the current source: none, disk, xds)",
        s -> {
          for (Source x : Source.values()) {
            s.sample(x == source ? 1 : 0, "source", x.name().toLowerCase(java.util.Locale.ROOT));
          }
        });
  }

  public Resources current() {
    return current;
  }

  public Source source() {
    return source;
  }

  public String lastError() {
    return lastError;
  }

  /** Ready once listeners were applied, from the control plane or the disk cache. */
  public boolean ready() {
    return current.has(TypeUrls.LISTENER);
  }

  /** Applies one type's update; returns the NACK detail when the proxy cannot run it. */
  public synchronized Optional<String> offer(String typeUrl, String version, List<Any> resources) {
    Resources candidate = current.with(typeUrl, version, resources);
    String type = TypeUrls.shortName(typeUrl);
    try {
      ProxyConfig config = candidate.toConfig();
      runtime.apply(config);
    } catch (ConfigRejected | RuntimeException e) {
      String detail = e.getMessage() == null ? e.toString() : e.getMessage();
      lastError = type + " version " + version + ": " + detail;
      log.warn("rejected {} version {}: {}", type, version, detail);
      count(type, "nack");
      return Optional.of(detail);
    }
    current = candidate;
    source = Source.XDS;
    lastError = "";
    count(type, "ack");
    cache.save(candidate);
    log.info("applied {} version {} ({} resources)", type, version, resources.size());
    return Optional.empty();
  }

  /** Starts from the disk cache (the control plane is unreachable); false if there is none. */
  public synchronized boolean startFromDisk() {
    if (source == Source.XDS) {
      return false;
    }
    Optional<Resources> cached = cache.load();
    if (cached.isEmpty()) {
      return false;
    }
    try {
      runtime.apply(cached.get().toConfig());
    } catch (ConfigRejected e) {
      log.warn("the cached config cannot run: {}", e.getMessage());
      lastError = "disk cache: " + e.getMessage();
      return false;
    }
    current = cached.get();
    source = Source.DISK;
    log.info("serving the cached config from {} until the control plane answers", cache.file());
    return true;
  }

  private void count(String type, String outcome) {
    outcomes
        .computeIfAbsent(
            type + "/" + outcome,
            k ->
                metrics.counter(
                    "xds_updates_total",
                    "xDS updates per type, accepted (ack) or rejected (nack)",
                    "type",
                    type,
                    "result",
                    outcome))
        .increment();
  }
}
