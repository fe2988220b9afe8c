package io.marchproxy.l4.lb;

import io.marchproxy.l4.config.ClusterSpec;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * Active TCP health checks of one cluster: every interval, a connection to each endpoint that must
 * be established within the timeout (then closed). The thresholds turn probes into verdicts.
 */
public final class HealthChecker {

  private final ClusterRuntime cluster;
  private final EventLoopGroup group;
  private final Class<? extends Channel> channelType;
  private volatile ScheduledFuture<?> task;
  private volatile ClusterSpec.HealthCheck running;

  public HealthChecker(
      ClusterRuntime cluster, EventLoopGroup group, Class<? extends Channel> channelType) {
    this.cluster = cluster;
    this.group = group;
    this.channelType = channelType;
  }

  /** Starts, restarts (the check changed) or stops checking to match the cluster's spec. */
  public synchronized void update() {
    ClusterSpec.HealthCheck hc = cluster.spec().healthCheck();
    if (hc != null && hc.equals(running) && task != null) {
      return;
    }
    stop();
    running = hc;
    if (hc == null) {
      // without a check, every endpoint counts as passing it
      for (LiveEndpoint e : cluster.endpoints()) {
        e.checkHealthy = true;
      }
      cluster.invalidate();
      return;
    }
    long interval = hc.interval().toMillis();
    long jitter = ThreadLocalRandom.current().nextLong(Math.max(1, interval / 10));
    task =
        group
            .next()
            .scheduleWithFixedDelay(() -> probeAll(hc), jitter, interval, TimeUnit.MILLISECONDS);
  }

  public synchronized void stop() {
    if (task != null) {
      task.cancel(false);
      task = null;
    }
    running = null;
  }

  private void probeAll(ClusterSpec.HealthCheck hc) {
    for (LiveEndpoint e : cluster.endpoints()) {
      if (e.address() == null) {
        continue;
      }
      ChannelFuture f =
          new Bootstrap()
              .group(group)
              .channel(channelType)
              .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) hc.timeout().toMillis())
              .option(ChannelOption.SO_LINGER, 0)
              .handler(new ChannelInboundHandlerAdapter())
              .connect(e.address());
      f.addListener(
          done -> {
            cluster.checked(e, done.isSuccess(), hc);
            f.channel().close();
          });
    }
  }
}
