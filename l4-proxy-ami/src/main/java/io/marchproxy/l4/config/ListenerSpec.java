package io.marchproxy.l4.config;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;

/** One listener as the proxy runs it, read from an Envoy Listener ({@code mapping-<name>}). */
public sealed interface ListenerSpec permits ListenerSpec.Tcp, ListenerSpec.Udp {

  String name();

  InetSocketAddress address();

  MappingMeta meta();

  /** Every cluster this listener can send traffic to. */
  List<String> clusters();

  /** Whether a change from {@code previous} needs a new socket (else the spec is swapped). */
  default boolean sameSocket(ListenerSpec previous) {
    return previous.getClass() == getClass() && previous.address().equals(address());
  }

  /**
   * A TCP listener: filter chains tried in order (the first whose server names match the TLS SNI,
   * or the one without server names).
   */
  record Tcp(
      String name,
      InetSocketAddress address,
      List<FilterChain> chains,
      boolean acceptProxyProtocol,
      boolean inspectTls,
      MappingMeta meta)
      implements ListenerSpec {

    public Tcp {
      chains = List.copyOf(chains);
    }

    @Override
    public List<String> clusters() {
      return chains.stream().map(c -> c.route().cluster()).distinct().toList();
    }

    /** True when some chain is chosen by SNI, so the ClientHello must be read first. */
    public boolean routesBySni() {
      return chains.stream().anyMatch(c -> !c.serverNames().isEmpty());
    }
  }

  /** A UDP listener: sessions keyed by client address, each with its own backend socket. */
  record Udp(
      String name,
      InetSocketAddress address,
      String cluster,
      Duration idleTimeout,
      MappingMeta meta)
      implements ListenerSpec {

    @Override
    public List<String> clusters() {
      return List.of(cluster);
    }
  }

  /** The network filters of one filter chain, in Envoy's order: rbac, rate limits, tcp_proxy. */
  record FilterChain(
      List<String> serverNames,
      Rbac rbac,
      TokenBucket rateLimit,
      long connectionLimit,
      TcpRoute route) {

    public FilterChain {
      serverNames = List.copyOf(serverNames);
    }

    /** Exact names and {@code *.suffix} wildcards, compared case-insensitively. */
    public boolean matchesSni(String sni) {
      if (sni == null) {
        return false;
      }
      String host = sni.toLowerCase(java.util.Locale.ROOT);
      for (String n : serverNames) {
        String name = n.toLowerCase(java.util.Locale.ROOT);
        if (name.equals(host) || (name.startsWith("*.") && host.endsWith(name.substring(1)))) {
          return true;
        }
      }
      return false;
    }
  }

  /** tcp_proxy: where connections go and how long an idle one may live (zero: forever). */
  record TcpRoute(String cluster, Duration idleTimeout, int maxConnectAttempts) {}

  /** Envoy's token bucket (local_ratelimit): {@code maxTokens}, refilled by N per interval. */
  record TokenBucket(long maxTokens, long tokensPerFill, Duration fillInterval) {}
}
