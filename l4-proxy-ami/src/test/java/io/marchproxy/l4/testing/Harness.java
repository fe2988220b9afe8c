package io.marchproxy.l4.testing;

import io.marchproxy.l4.config.ConfigRejected;
import io.marchproxy.l4.config.ProxyConfig;
import io.marchproxy.l4.net.Transport;
import io.marchproxy.l4.ops.AccessLog;
import io.marchproxy.l4.ops.Metrics;
import io.marchproxy.l4.runtime.ProxyRuntime;
import io.netty.channel.EventLoopGroup;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/** A running proxy core (no xDS) on real sockets, with its access log captured. */
public final class Harness implements AutoCloseable {

  public final Metrics metrics = new Metrics();
  public final List<String> accessLog = new CopyOnWriteArrayList<>();
  public final Transport transport = Transport.best();
  public final EventLoopGroup workers = transport.newGroup(2);
  public final ProxyRuntime runtime;

  public Harness() {
    this(Duration.ofSeconds(5), Map.of());
  }

  public Harness(Duration drain, Map<String, String> env) {
    runtime =
        new ProxyRuntime(
            transport,
            workers,
            metrics,
            AccessLog.to(accessLog::add),
            Clock.systemUTC(),
            env,
            drain,
            10_000);
  }

  public void apply(ProxyConfig c) throws ConfigRejected {
    runtime.apply(c);
  }

  /** Runs one listener and one cluster with these endpoints (and nothing else). */
  public void apply(
      io.envoyproxy.envoy.config.listener.v3.Listener l,
      io.envoyproxy.envoy.config.cluster.v3.Cluster c,
      Xds.Ep... endpoints)
      throws ConfigRejected {
    runtime.apply(
        Xds.config(
            java.util.List.of(l),
            java.util.List.of(c),
            java.util.List.of(Xds.cla(c.getName(), endpoints))));
  }

  /** Access log lines with this verdict. */
  public List<String> logged(String verdict) {
    return accessLog.stream().filter(l -> l.contains("\"verdict\":\"" + verdict + "\"")).toList();
  }

  @Override
  public void close() {
    runtime.close();
    workers.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
  }
}
