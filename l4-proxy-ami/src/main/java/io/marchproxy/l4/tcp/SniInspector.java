package io.marchproxy.l4.tcp;

import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.ssl.AbstractSniHandler;
import io.netty.util.concurrent.Future;

/**
 * Reads the TLS ClientHello's server name without terminating TLS, reports it as {@link SniSeen},
 * then steps aside: the bytes it buffered flow on to the backend untouched.
 */
final class SniInspector extends AbstractSniHandler<String> {

  /** The ClientHello's server name; null when there was none or the bytes were not TLS. */
  record SniSeen(String serverName) {}

  SniInspector() {
    super(16 * 1024, 0L);
  }

  @Override
  protected Future<String> lookup(ChannelHandlerContext ctx, String hostname) {
    return ctx.executor().newSucceededFuture(hostname);
  }

  @Override
  protected void onLookupComplete(
      ChannelHandlerContext ctx, String hostname, Future<String> future) {
    ctx.fireUserEventTriggered(new SniSeen(hostname));
    ctx.pipeline().remove(this);
  }
}
