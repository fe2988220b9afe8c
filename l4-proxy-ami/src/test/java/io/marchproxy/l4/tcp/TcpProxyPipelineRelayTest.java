package io.marchproxy.l4.tcp;

import java.util.Map;

/**
 * The same data path with plain listeners carried by Netty channels and pipelines (the relay of
 * PROXY-protocol, SNI and shaped listeners) instead of the direct relay.
 */
class TcpProxyPipelineRelayTest extends TcpProxyTest {

  @Override
  Map<String, String> env() {
    return Map.of("MARCHPROXY_L4_RELAY", "netty");
  }

  @Override
  Class<?> plainRelay() {
    return FrontendHandler.class;
  }
}
