package io.marchproxy.xds;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.ManagedChannel;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.marchproxy.core.testing.TestPostgres;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.client.HttpClient;
import io.micronaut.http.client.annotation.Client;
import io.micronaut.test.extensions.junit5.annotation.MicronautTest;
import io.micronaut.test.support.TestPropertyProvider;
import jakarta.inject.Inject;
import java.net.ServerSocket;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

@MicronautTest(transactional = false)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class XdsServiceOpsTest implements TestPropertyProvider {

  @Inject
  @Client("/")
  HttpClient http;

  private int grpcPort;

  @Override
  public Map<String, String> getProperties() {
    try (var s = new ServerSocket(0)) {
      grpcPort = s.getLocalPort();
    } catch (java.io.IOException e) {
      throw new IllegalStateException(e);
    }
    var props = new HashMap<>(TestPostgres.datasourceProperties());
    props.put("marchproxy.xds.grpc-port", String.valueOf(grpcPort));
    return props;
  }

  @Test
  void readyOnceDatabaseAndGrpcAreUp() throws InterruptedException {
    // Ready only once the first load from Postgres is done; that takes a moment after start.
    HttpResponse<String> r = null;
    for (int i = 0; i < 100 && r == null; i++) {
      try {
        r = http.toBlocking().exchange("/readyz", String.class);
      } catch (io.micronaut.http.client.exceptions.HttpClientResponseException e) {
        assertThat(e.getStatus().getCode()).isEqualTo(503);
        Thread.sleep(100);
      }
    }
    assertThat(r).as("ready within 10 s").isNotNull();
    assertThat(r.code()).isEqualTo(200);
    assertThat(r.body())
        .contains("\"database\":\"ok: schema version ")
        .contains("\"grpc\":\"ok: listening on " + grpcPort + "\"")
        .contains("\"revisions\":\"ok: 0 cluster(s) loaded\"");
  }

  @Test
  void grpcHealthServiceAnswersServing() throws Exception {
    ManagedChannel channel =
        NettyChannelBuilder.forAddress("localhost", grpcPort).usePlaintext().build();
    try {
      var status =
          HealthGrpc.newBlockingStub(channel)
              .withDeadlineAfter(5, TimeUnit.SECONDS)
              .check(HealthCheckRequest.getDefaultInstance())
              .getStatus();
      assertThat(status).isEqualTo(ServingStatus.SERVING);
    } finally {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  @Test
  void metricsServed() {
    HttpResponse<String> r = http.toBlocking().exchange("/metrics", String.class);
    assertThat(r.body()).contains("jvm_threads_live_threads");
  }
}
