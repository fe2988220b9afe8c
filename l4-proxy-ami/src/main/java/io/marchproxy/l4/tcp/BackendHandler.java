package io.marchproxy.l4.tcp;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.util.ReferenceCountUtil;

/** The backend side of a relay; everything goes through its {@link FrontendHandler}. */
final class BackendHandler extends ChannelInboundHandlerAdapter {

  private final FrontendHandler frontend;

  BackendHandler(FrontendHandler frontend) {
    this.frontend = frontend;
  }

  @Override
  public boolean isSharable() {
    return false; // said here: Netty's own answer is a per-thread map lookup per connection
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (msg instanceof ByteBuf buf) {
      frontend.fromBackend(buf);
    } else {
      ReferenceCountUtil.release(msg);
    }
  }

  @Override
  public void channelReadComplete(ChannelHandlerContext ctx) {
    frontend.backendReadComplete();
  }

  @Override
  public void channelWritabilityChanged(ChannelHandlerContext ctx) {
    if (ctx.channel().isWritable()) {
      frontend.outboundWritable();
    }
  }

  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
    if (evt instanceof ChannelInputShutdownEvent) {
      frontend.backendInputShutdown();
    } else {
      ctx.fireUserEventTriggered(evt);
    }
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    frontend.backendClosed();
  }

  @Override
  public void channelUnregistered(ChannelHandlerContext ctx) {
    frontend.backendUnregistered(ctx.channel());
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    frontend.backendClosed();
  }
}
