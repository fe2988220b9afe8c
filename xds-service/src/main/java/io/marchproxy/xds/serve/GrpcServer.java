package io.marchproxy.xds.serve;

import io.grpc.BindableService;
import io.grpc.Server;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.HealthStatusManager;
import io.grpc.protobuf.services.ProtoReflectionServiceV1;
import io.marchproxy.core.ops.ReadinessCheck;
import io.micronaut.context.annotation.Context;
import io.micronaut.context.annotation.Value;
import jakarta.annotation.PostConstruct;
import jakarta.annotation.PreDestroy;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The gRPC port proxies connect to. Every {@link BindableService} bean is served on it, next to the
 * standard gRPC health service (SERVING once started, NOT_SERVING while draining).
 */
@Context
final class GrpcServer implements ReadinessCheck {

  private static final Logger LOG = LoggerFactory.getLogger(GrpcServer.class);

  private final int port;
  private final List<BindableService> services;
  private final GrpcTls tls;
  private final HealthStatusManager health = new HealthStatusManager();
  private volatile Server server;

  GrpcServer(
      @Value("${marchproxy.xds.grpc-port:18000}") int port,
      List<BindableService> services,
      GrpcTls tls) {
    this.port = port;
    this.services = services;
    this.tls = tls;
  }

  @PostConstruct
  void start() {
    var builder =
        NettyServerBuilder.forAddress(new InetSocketAddress(port))
            .addService(health.getHealthService())
            .addService(ProtoReflectionServiceV1.newInstance())
            .permitKeepAliveTime(10, TimeUnit.SECONDS)
            .permitKeepAliveWithoutCalls(true);
    services.forEach(builder::addService);
    tls.sslContext().ifPresent(builder::sslContext);
    try {
      server = builder.build().start();
    } catch (IOException e) {
      throw new UncheckedIOException("xDS gRPC server could not listen on port " + port, e);
    }
    health.setStatus(HealthStatusManager.SERVICE_NAME_ALL_SERVICES, ServingStatus.SERVING);
    LOG.info("xDS gRPC server listening on {} ({})", server.getPort(), tls.describe());
  }

  /** The bound port (differs from the configured one when that was 0). */
  int port() {
    return server.getPort();
  }

  @PreDestroy
  void stop() throws InterruptedException {
    health.enterTerminalState();
    server.shutdown();
    if (!server.awaitTermination(5, TimeUnit.SECONDS)) {
      server.shutdownNow();
    }
  }

  @Override
  public String name() {
    return "grpc";
  }

  @Override
  public Result check() {
    Server s = server;
    return s != null && !s.isShutdown()
        ? Result.ok("listening on " + s.getPort())
        : Result.notReady("gRPC server not running");
  }
}
