package io.marchproxy.api;

import io.marchproxy.core.app.MarchProxyApplication;

/** The REST API as a long-running Netty server (locally, on :8000 by default). */
public final class FunctionsApplication {

  private FunctionsApplication() {}

  public static void main(String[] args) {
    MarchProxyApplication.run(FunctionsApplication.class, args);
  }
}
