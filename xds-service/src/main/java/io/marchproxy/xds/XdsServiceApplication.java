package io.marchproxy.xds;

import io.marchproxy.core.app.MarchProxyApplication;

/** The xDS control plane: gRPC (ADS) on :18000, health/metrics/status over HTTP on :19000. */
public final class XdsServiceApplication {

  private XdsServiceApplication() {}

  public static void main(String[] args) {
    MarchProxyApplication.run(XdsServiceApplication.class, args);
  }
}
