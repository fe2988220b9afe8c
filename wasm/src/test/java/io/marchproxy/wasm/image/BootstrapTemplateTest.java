package io.marchproxy.wasm.image;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.TypeRegistry;
import com.google.protobuf.util.JsonFormat;
import com.sun.net.httpserver.HttpServer;
import io.envoyproxy.envoy.config.bootstrap.v3.Bootstrap;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.ApiConfigSource.ApiType;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import io.envoyproxy.envoy.extensions.upstreams.http.v3.HttpProtocolOptions;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The bootstrap the entrypoint renders parses as envoy.config.bootstrap.v3.Bootstrap (proto JSON,
 * strict: unknown fields fail) and carries what the proxy needs to reach xds-service.
 */
class BootstrapTemplateTest {
  static final String KEY = "mpk_cluster_key_0123456789";
  static final Map<String, String> BASE =
      Map.of(
          "MARCHPROXY_CLUSTER", "payments",
          "MARCHPROXY_CLUSTER_KEY", KEY,
          "MARCHPROXY_NODE_ID", "7f9c2a4e-1b2d-4c3e-9f00-5a6b7c8d9e0f",
          "MARCHPROXY_REGION", "eu-west-1",
          "MARCHPROXY_ZONE", "eu-west-1a",
          "MARCHPROXY_VERSION", "0.1.0");

  static Bootstrap parse(String json) throws InvalidProtocolBufferException {
    var registry =
        TypeRegistry.newBuilder()
            .add(HttpProtocolOptions.getDescriptor())
            .add(UpstreamTlsContext.getDescriptor())
            .build();
    var builder = Bootstrap.newBuilder();
    JsonFormat.parser().usingTypeRegistry(registry).merge(json, builder);
    return builder.build();
  }

  static Bootstrap render(Map<String, String> extra) throws Exception {
    var settings = new java.util.HashMap<>(BASE);
    settings.putAll(extra);
    var result = Entrypoint.render(settings);
    assertThat(result.exitCode()).as(result.stderr()).isZero();
    return parse(result.stdout());
  }

  static Cluster xdsCluster(Bootstrap bootstrap) {
    return bootstrap.getStaticResources().getClustersList().stream()
        .filter(c -> c.getName().equals("marchproxy_xds"))
        .findFirst()
        .orElseThrow();
  }

  @Test
  void rendersNodeAdsAndAdmin() throws Exception {
    Bootstrap bootstrap = render(Map.of());

    assertThat(bootstrap.getNode().getId()).isEqualTo("7f9c2a4e-1b2d-4c3e-9f00-5a6b7c8d9e0f");
    assertThat(bootstrap.getNode().getCluster()).isEqualTo("payments");
    assertThat(bootstrap.getNode().getLocality().getRegion()).isEqualTo("eu-west-1");
    assertThat(bootstrap.getNode().getLocality().getZone()).isEqualTo("eu-west-1a");
    assertThat(
            bootstrap
                .getNode()
                .getMetadata()
                .getFieldsOrThrow("marchproxy")
                .getStructValue()
                .getFieldsOrThrow("kind")
                .getStringValue())
        .isEqualTo("envoy");

    var ads = bootstrap.getDynamicResources().getAdsConfig();
    assertThat(ads.getApiType()).isEqualTo(ApiType.GRPC);
    var grpc = ads.getGrpcServices(0);
    assertThat(grpc.getEnvoyGrpc().getClusterName()).isEqualTo("marchproxy_xds");
    assertThat(grpc.getInitialMetadataList())
        .anySatisfy(
            header -> {
              assertThat(header.getKey()).isEqualTo("x-cluster-key");
              assertThat(header.getValue()).isEqualTo(KEY);
            });
    assertThat(bootstrap.getDynamicResources().getCdsConfig().hasAds()).isTrue();
    assertThat(bootstrap.getDynamicResources().getLdsConfig().hasAds()).isTrue();

    Cluster xds = xdsCluster(bootstrap);
    var address =
        xds.getLoadAssignment().getEndpoints(0).getLbEndpoints(0).getEndpoint().getAddress();
    assertThat(address.getSocketAddress().getAddress()).isEqualTo("xds-service");
    assertThat(address.getSocketAddress().getPortValue()).isEqualTo(18000);
    assertThat(
            xds.getTypedExtensionProtocolOptionsOrThrow(
                    "envoy.extensions.upstreams.http.v3.HttpProtocolOptions")
                .unpack(HttpProtocolOptions.class)
                .getExplicitHttpConfig()
                .hasHttp2ProtocolOptions())
        .as("ADS is gRPC: the xds cluster must speak HTTP/2")
        .isTrue();
    assertThat(xds.hasTransportSocket()).as("plaintext unless MARCHPROXY_XDS_TLS").isFalse();

    assertThat(bootstrap.getAdmin().getAddress().getSocketAddress().getPortValue()).isEqualTo(9901);
  }

  @Test
  void rendersTlsAndMutualTlsToXdsService() throws Exception {
    Bootstrap bootstrap =
        render(
            Map.of(
                "MARCHPROXY_XDS_TLS", "true",
                "MARCHPROXY_XDS_HOST", "xds.internal.example",
                "MARCHPROXY_XDS_PORT", "443",
                "MARCHPROXY_XDS_CA_FILE", "/etc/marchproxy/xds-ca.pem",
                "MARCHPROXY_XDS_CERT_FILE", "/etc/marchproxy/envoy.pem",
                "MARCHPROXY_XDS_KEY_FILE", "/etc/marchproxy/envoy-key.pem"));

    Cluster xds = xdsCluster(bootstrap);
    assertThat(xds.getTransportSocket().getName()).isEqualTo("envoy.transport_sockets.tls");
    var tls = xds.getTransportSocket().getTypedConfig().unpack(UpstreamTlsContext.class);
    assertThat(tls.getSni()).isEqualTo("xds.internal.example");
    var common = tls.getCommonTlsContext();
    assertThat(common.getValidationContext().getTrustedCa().getFilename())
        .isEqualTo("/etc/marchproxy/xds-ca.pem");
    assertThat(common.getTlsCertificates(0).getCertificateChain().getFilename())
        .isEqualTo("/etc/marchproxy/envoy.pem");
    assertThat(common.getTlsCertificates(0).getPrivateKey().getFilename())
        .isEqualTo("/etc/marchproxy/envoy-key.pem");
    assertThat(
            xds.getLoadAssignment()
                .getEndpoints(0)
                .getLbEndpoints(0)
                .getEndpoint()
                .getAddress()
                .getSocketAddress()
                .getPortValue())
        .isEqualTo(443);
  }

  @Test
  void keepsAKeyWithJsonSpecialCharactersIntact() throws Exception {
    String key = "k\"e\\y&/x";
    Bootstrap bootstrap = render(Map.of("MARCHPROXY_CLUSTER_KEY", key));

    assertThat(bootstrap.getDynamicResources().getAdsConfig().getGrpcServices(0))
        .satisfies(grpc -> assertThat(grpc.getInitialMetadata(0).getValue()).isEqualTo(key));
  }

  @Test
  void registersThroughTheApiWhenNoNodeIdIsGiven() throws Exception {
    var requests = new ArrayList<String>();
    var keys = new ArrayList<String>();
    HttpServer api = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    api.createContext(
        "/api/v1/proxies/register",
        exchange -> {
          requests.add(
              exchange.getRequestMethod()
                  + " "
                  + new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8));
          keys.add(exchange.getRequestHeaders().getFirst("X-Cluster-Key"));
          byte[] body =
              "{\"id\":\"3c1d-44aa\",\"name\":\"edge-7\"}".getBytes(StandardCharsets.UTF_8);
          exchange.getResponseHeaders().add("Content-Type", "application/json");
          exchange.sendResponseHeaders(201, body.length);
          exchange.getResponseBody().write(body);
          exchange.close();
        });
    api.start();
    try {
      var settings = new java.util.HashMap<>(BASE);
      settings.remove("MARCHPROXY_NODE_ID");
      settings.put("MARCHPROXY_API_URL", "http://127.0.0.1:" + api.getAddress().getPort());
      var result = Entrypoint.render(settings);

      assertThat(result.exitCode()).as(result.stderr()).isZero();
      assertThat(parse(result.stdout()).getNode().getId()).isEqualTo("3c1d-44aa");
      assertThat(keys).containsExactly(KEY);
      assertThat(requests)
          .singleElement()
          .satisfies(
              request ->
                  assertThat(request)
                      .startsWith("POST {")
                      .contains("\"name\":\"edge-7\"")
                      .contains("\"kind\":\"envoy\"")
                      .contains("\"hostname\":\"edge-7\"")
                      .contains("\"region\":\"eu-west-1\"")
                      .contains("\"zone\":\"eu-west-1a\"")
                      .contains("\"version\":\"0.1.0\""));
      assertThat(result.stderr()).doesNotContain(KEY);
    } finally {
      api.stop(0);
    }
  }

  @Test
  void stopsAtOnceWhenTheApiRefusesTheKey() throws Exception {
    HttpServer api = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    api.createContext(
        "/api/v1/proxies/register",
        exchange -> {
          byte[] body = "{\"type\":\"unknown-cluster-key\",\"status\":401}".getBytes();
          exchange.sendResponseHeaders(401, body.length);
          exchange.getResponseBody().write(body);
          exchange.close();
        });
    api.start();
    try {
      var settings = new java.util.HashMap<>(BASE);
      settings.remove("MARCHPROXY_NODE_ID");
      settings.put("MARCHPROXY_API_URL", "http://127.0.0.1:" + api.getAddress().getPort());
      var result = Entrypoint.render(settings);

      assertThat(result.exitCode()).isNotZero();
      assertThat(result.stdout()).isEmpty();
      assertThat(result.stderr()).contains("HTTP 401").doesNotContain(KEY);
    } finally {
      api.stop(0);
    }
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "MARCHPROXY_CLUSTER=pay\"ments",
        "MARCHPROXY_CLUSTER=",
        "MARCHPROXY_CLUSTER_KEY=",
        "MARCHPROXY_XDS_PORT=70000",
        "MARCHPROXY_XDS_TLS=maybe",
        "MARCHPROXY_NODE_ID=id with spaces"
      })
  void refusesBadSettingsBeforeRenderingAnything(String setting) throws Exception {
    var settings = new java.util.HashMap<>(BASE);
    String[] pair = setting.split("=", 2);
    settings.put(pair[0], pair[1]);
    var result = Entrypoint.render(settings);

    assertThat(result.exitCode()).isNotZero();
    assertThat(result.stdout()).isEmpty();
    assertThat(result.stderr()).startsWith("marchproxy-envoy: ");
  }
}
