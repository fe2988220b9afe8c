package io.marchproxy.l4;

import io.marchproxy.l4.xdp.XdpSettings;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

/** The proxy's own settings, from environment variables (see docs/l4-proxy.md). */
public record Settings(
    URI apiUrl,
    String xdsTarget,
    boolean xdsTls,
    String clusterKey,
    String name,
    String hostname,
    String region,
    String zone,
    InetSocketAddress adminAddress,
    Path stateDir,
    Duration drainTimeout,
    Duration cacheGrace,
    int workers,
    long maxConnectionsPerListener,
    boolean accessLog,
    Duration heartbeat,
    Map<String, String> env,
    XdpSettings xdp) {

  public static final String VERSION = "0.1.0";

  public static Settings fromEnv(Map<String, String> env) {
    String key = env.getOrDefault("MARCHPROXY_CLUSTER_KEY", "").trim();
    String keyFile = env.getOrDefault("MARCHPROXY_CLUSTER_KEY_FILE", "");
    if (key.isEmpty() && !keyFile.isEmpty()) {
      try {
        key = Files.readString(Path.of(keyFile)).trim();
      } catch (java.io.IOException e) {
        throw new IllegalArgumentException(
            "MARCHPROXY_CLUSTER_KEY_FILE " + keyFile + " cannot be read: " + e.getMessage());
      }
    }
    if (key.isEmpty()) {
      throw new IllegalArgumentException(
          "set MARCHPROXY_CLUSTER_KEY (or MARCHPROXY_CLUSTER_KEY_FILE) to a cluster API key");
    }
    String host = localHostName();
    String home = env.getOrDefault("MARCHPROXY_HOME", ".marchproxy");
    return new Settings(
        URI.create(env.getOrDefault("MARCHPROXY_API_URL", "http://localhost:8000")),
        env.getOrDefault(
            "MARCHPROXY_XDS_ADDRESS",
            "localhost:" + env.getOrDefault("MARCHPROXY_XDS_PORT", "18000")),
        Boolean.parseBoolean(env.getOrDefault("MARCHPROXY_XDS_TLS", "false")),
        key,
        env.getOrDefault("MARCHPROXY_PROXY_NAME", host),
        host,
        env.getOrDefault("MARCHPROXY_REGION", ""),
        env.getOrDefault("MARCHPROXY_ZONE", ""),
        new InetSocketAddress(
            env.getOrDefault("MARCHPROXY_L4_ADMIN_BIND", "0.0.0.0"),
            Integer.parseInt(env.getOrDefault("MARCHPROXY_L4_ADMIN_PORT", "8082"))),
        Path.of(env.getOrDefault("MARCHPROXY_L4_STATE_DIR", home + "/l4")),
        Duration.ofSeconds(Long.parseLong(env.getOrDefault("MARCHPROXY_L4_DRAIN_SECONDS", "30"))),
        Duration.ofMillis(Long.parseLong(env.getOrDefault("MARCHPROXY_L4_CACHE_GRACE_MS", "3000"))),
        Integer.parseInt(
            env.getOrDefault(
                "MARCHPROXY_L4_WORKERS",
                String.valueOf(Runtime.getRuntime().availableProcessors()))),
        Long.parseLong(env.getOrDefault("MARCHPROXY_L4_MAX_CONNECTIONS", "100000")),
        !"off".equalsIgnoreCase(env.getOrDefault("MARCHPROXY_L4_ACCESS_LOG", "on")),
        Duration.ofSeconds(
            Long.parseLong(env.getOrDefault("MARCHPROXY_L4_HEARTBEAT_SECONDS", "30"))),
        Map.copyOf(env),
        XdpSettings.fromEnv(env));
  }

  private static String localHostName() {
    try {
      return java.net.InetAddress.getLocalHost().getHostName();
    } catch (java.net.UnknownHostException e) {
      return "l4-proxy";
    }
  }
}
