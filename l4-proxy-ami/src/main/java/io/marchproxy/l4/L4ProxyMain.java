package io.marchproxy.l4;

import java.util.concurrent.CountDownLatch;

/** {@code java -jar l4-proxy.jar}: runs until SIGTERM/SIGINT, then drains and exits. */
public final class L4ProxyMain {

  private L4ProxyMain() {}

  public static void main(String[] args) throws Exception {
    // Production default: Netty's leak detector samples allocations with a stack trace each;
    // tests keep it on (they do not come through here). -Dio.netty.leakDetection.level overrides.
    if (System.getProperty("io.netty.leakDetection.level") == null) {
      System.setProperty("io.netty.leakDetection.level", "disabled");
    }
    Settings settings;
    try {
      settings = Settings.fromEnv(System.getenv());
    } catch (IllegalArgumentException e) {
      System.err.println("marchproxy-l4: " + e.getMessage());
      System.exit(2);
      return;
    }
    L4Proxy proxy = new L4Proxy(settings);
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  proxy.drainAndStop();
                  stopped.countDown();
                },
                "l4-drain"));
    proxy.start();
    stopped.await();
  }
}
