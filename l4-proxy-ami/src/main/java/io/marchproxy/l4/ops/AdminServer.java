package io.marchproxy.l4.ops;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.function.Supplier;

/**
 * The admin port: {@code /healthz} (the process serves), {@code /readyz} (a config is applied),
 * {@code /metrics} (Prometheus), {@code /config} (what runs, for humans).
 */
public final class AdminServer implements AutoCloseable {

  /** A status and a body; 200 for ready. */
  public record Status(boolean ok, String json) {}

  private final Channel channel;

  public AdminServer(
      InetSocketAddress address,
      EventLoopGroup group,
      Class<? extends ServerChannel> type,
      Metrics metrics,
      Supplier<Status> readiness,
      Supplier<String> config)
      throws InterruptedException {
    channel =
        new ServerBootstrap()
            .group(group)
            .channel(type)
            .childHandler(
                new ChannelInitializer<>() {
                  @Override
                  protected void initChannel(Channel ch) {
                    ch.pipeline()
                        .addLast(new HttpServerCodec())
                        .addLast(new HttpObjectAggregator(8192))
                        .addLast(new Handler(metrics, readiness, config));
                  }
                })
            .bind(address)
            .sync()
            .channel();
  }

  public int port() {
    return ((InetSocketAddress) channel.localAddress()).getPort();
  }

  @Override
  public void close() {
    channel.close().syncUninterruptibly();
  }

  private static final class Handler extends SimpleChannelInboundHandler<FullHttpRequest> {
    private final Metrics metrics;
    private final Supplier<Status> readiness;
    private final Supplier<String> config;

    Handler(Metrics metrics, Supplier<Status> readiness, Supplier<String> config) {
      this.metrics = metrics;
      this.readiness = readiness;
      this.config = config;
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
      String path = new QueryStringDecoder(req.uri()).path();
      if (!req.method().equals(HttpMethod.GET) && !req.method().equals(HttpMethod.HEAD)) {
        send(ctx, req, HttpResponseStatus.METHOD_NOT_ALLOWED, "text/plain", "GET only\n");
        return;
      }
      switch (path) {
        case "/healthz" ->
            send(ctx, req, HttpResponseStatus.OK, "application/json", "{\"status\":\"ok\"}\n");
        case "/readyz" -> {
          Status s = readiness.get();
          send(
              ctx,
              req,
              s.ok() ? HttpResponseStatus.OK : HttpResponseStatus.SERVICE_UNAVAILABLE,
              "application/json",
              s.json() + "\n");
        }
        case "/metrics" ->
            send(
                ctx,
                req,
                HttpResponseStatus.OK,
                "text/plain; version=0.0.4; charset=utf-8",
                metrics.scrape());
        case "/config" ->
            send(ctx, req, HttpResponseStatus.OK, "application/json", config.get() + "\n");
        default -> send(ctx, req, HttpResponseStatus.NOT_FOUND, "text/plain", "not found\n");
      }
    }

    private static void send(
        ChannelHandlerContext ctx,
        FullHttpRequest req,
        HttpResponseStatus status,
        String type,
        String body) {
      byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
      FullHttpResponse r =
          new DefaultFullHttpResponse(
              HttpVersion.HTTP_1_1,
              status,
              req.method().equals(HttpMethod.HEAD)
                  ? Unpooled.EMPTY_BUFFER
                  : Unpooled.wrappedBuffer(bytes));
      r.headers().set(HttpHeaderNames.CONTENT_TYPE, type);
      r.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, bytes.length);
      boolean keepAlive = HttpUtil.isKeepAlive(req);
      HttpUtil.setKeepAlive(r, keepAlive);
      var f = ctx.writeAndFlush(r);
      if (!keepAlive) {
        f.addListener(ChannelFutureListener.CLOSE);
      }
    }
  }
}
