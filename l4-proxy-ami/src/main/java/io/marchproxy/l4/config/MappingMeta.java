package io.marchproxy.l4.config;

import java.util.List;

/**
 * MarchProxy's own knobs of a mapping, from the listener's {@code
 * metadata.filter_metadata["marchproxy"]}. The translator writes every default out, so the proxy
 * never guesses; a listener without that metadata gets the same defaults.
 */
public record MappingMeta(
    String mapping,
    String service,
    String bandwidthClass,
    ProxyProtocolVersion sendProxyProtocol,
    double perSourceConnectionsPerSecond,
    long perSourceMaxConnections,
    long maxConnections,
    List<String> allowedServices) {

  public MappingMeta {
    allowedServices = List.copyOf(allowedServices);
  }

  public static MappingMeta defaults(String listenerName) {
    return new MappingMeta(
        listenerName, "", "unlimited", ProxyProtocolVersion.NONE, 0, 0, 0, List.of());
  }

  public enum ProxyProtocolVersion {
    NONE,
    V1,
    V2
  }
}
