package io.marchproxy.l4;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.marchproxy.l4.ops.AccessLog;
import io.marchproxy.l4.testing.Backend;
import io.marchproxy.l4.testing.Client;
import io.marchproxy.l4.testing.Xds;
import io.marchproxy.l4.tools.StaticConfig;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

/**
 * The assembled proxy without any control plane (API and xDS addresses go nowhere): it serves the
 * cache {@code StaticConfig} wrote, answers on its admin port, and drains on the path SIGTERM takes
 * ({@link L4Proxy#drainAndStop}, which the shutdown hook calls).
 */
class L4ProxyTest {

  private static String get(int port, String path, int expectedStatus) throws Exception {
    HttpResponse<String> r =
        HttpClient.newHttpClient()
            .send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).build(),
                HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).as("%s: %s", path, r.body()).isEqualTo(expectedStatus);
    return r.body();
  }

  @Test
  void registrationRetriesBackOffFromFiveSecondsToAMinute() {
    assertThat(
            java.util.stream.IntStream.rangeClosed(1, 7)
                .mapToObj(n -> L4Proxy.registrationRetry(n).toSeconds())
                .toList())
        .containsExactly(5L, 10L, 20L, 40L, 60L, 60L, 60L);
  }

  @Test
  void servesItsCacheWithoutAControlPlaneAnswersOnItsAdminPortAndDrainsOnStop() throws Exception {
    Path state = Files.createTempDirectory("l4-proxy");
    int port = Xds.freePort();
    int adminPort = Xds.freePort();
    List<String> access = new CopyOnWriteArrayList<>();
    try (Backend b = new Backend("b")) {
      StaticConfig.main(
          new String[] {
            state.resolve("xds-cache.pb").toString(), "web=" + port + ":127.0.0.1:" + b.port()
          });
      Settings settings =
          Settings.fromEnv(
              Map.of(
                  "MARCHPROXY_CLUSTER_KEY", "mpk_unused",
                  "MARCHPROXY_API_URL", "http://127.0.0.1:9",
                  "MARCHPROXY_XDS_ADDRESS", "127.0.0.1:9",
                  "MARCHPROXY_L4_STATE_DIR", state.toString(),
                  "MARCHPROXY_L4_ADMIN_BIND", "127.0.0.1",
                  "MARCHPROXY_L4_ADMIN_PORT", String.valueOf(adminPort),
                  "MARCHPROXY_L4_CACHE_GRACE_MS", "200",
                  "MARCHPROXY_L4_DRAIN_SECONDS", "10",
                  "MARCHPROXY_L4_WORKERS", "1"));
      L4Proxy proxy = new L4Proxy(settings, AccessLog.to(access::add));
      try {
        proxy.start();
        assertThat(get(adminPort, "/healthz", 200)).contains("ok");
        await()
            .untilAsserted(
                () ->
                    assertThat(get(adminPort, "/readyz", 200))
                        .contains("\"configSource\":\"disk\""));
        assertThat(get(adminPort, "/readyz", 200))
            .contains("\"xdsConnected\":false")
            .contains("cannot register");
        assertThat(get(adminPort, "/config", 200))
            .contains("mapping-web")
            .contains("127.0.0.1:" + b.port());
        get(adminPort, "/nope", 404);

        Client established = new Client(port);
        assertThat(established.ask("1")).isEqualTo("b:1");
        assertThat(get(adminPort, "/metrics", 200))
            .contains("marchproxy_l4_connections_active{listener=\"mapping-web\"} 1")
            .contains("marchproxy_l4_config_source{source=\"disk\"} 1");

        // SIGTERM's path: stop accepting, let the established connection finish, then stop
        CompletableFuture<Void> stopped = CompletableFuture.runAsync(proxy::drainAndStop);
        await()
            .untilAsserted(
                () ->
                    assertThatThrownBy(() -> new Client(port).close())
                        .isInstanceOf(IOException.class));
        assertThat(established.ask("2")).isEqualTo("b:2");
        assertThat(stopped).isNotDone();
        established.close();
        stopped.get(10, java.util.concurrent.TimeUnit.SECONDS);
        assertThat(access)
            .anyMatch(
                l -> l.contains("\"verdict\":\"proxied\"") && l.contains("\"bytesFromClient\":2"));
      } finally {
        proxy.close();
      }
    }
  }
}
