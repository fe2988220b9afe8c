package io.marchproxy.xds.serve;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.marchproxy.core.testing.TestPostgres;
import io.micronaut.test.extensions.junit5.annotation.MicronautTest;
import io.micronaut.test.support.TestPropertyProvider;
import java.io.FileInputStream;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.util.Base64;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** The xDS port with TLS: a TLS client is served, a plaintext one is not; bad settings stop it. */
@MicronautTest(transactional = false)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class GrpcTlsTest implements TestPropertyProvider {

  private int port;
  private Path cert;
  private Path key;

  @Override
  public Map<String, String> getProperties() {
    try (var s = new ServerSocket(0)) {
      port = s.getLocalPort();
      Path dir = Files.createTempDirectory("xds-tls");
      cert = dir.resolve("chain.pem");
      key = dir.resolve("key.pem");
      selfSigned(dir, cert, key);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
    var props = new HashMap<>(TestPostgres.datasourceProperties());
    props.put("marchproxy.xds.grpc-port", String.valueOf(port));
    props.put("marchproxy.xds.tls.cert-chain-file", cert.toString());
    props.put("marchproxy.xds.tls.private-key-file", key.toString());
    return props;
  }

  @Test
  void aTlsClientIsServedAndAPlaintextOneIsNot() throws Exception {
    var tlsChannel =
        NettyChannelBuilder.forAddress("localhost", port)
            .sslContext(GrpcSslContexts.forClient().trustManager(cert.toFile()).build())
            .build();
    var plainChannel = NettyChannelBuilder.forAddress("localhost", port).usePlaintext().build();
    try {
      HealthCheckResponse ok =
          HealthGrpc.newBlockingStub(tlsChannel)
              .withDeadlineAfter(10, TimeUnit.SECONDS)
              .check(HealthCheckRequest.getDefaultInstance());
      assertThat(ok.getStatus()).isEqualTo(HealthCheckResponse.ServingStatus.SERVING);
      assertThatThrownBy(
              () ->
                  HealthGrpc.newBlockingStub(plainChannel)
                      .withDeadlineAfter(5, TimeUnit.SECONDS)
                      .check(HealthCheckRequest.getDefaultInstance()))
          .isInstanceOf(StatusRuntimeException.class);
    } finally {
      tlsChannel.shutdownNow();
      plainChannel.shutdownNow();
    }
  }

  @Test
  void incompleteOrUnreadableSettingsAreRefusedWithTheirName() {
    assertThatThrownBy(() -> new GrpcTls(cert.toString(), "", ""))
        .hasMessageContaining("set both marchproxy.xds.tls.cert-chain-file");
    assertThatThrownBy(() -> new GrpcTls("", "", cert.toString()))
        .hasMessageContaining("client-ca-file needs");
    assertThatThrownBy(() -> new GrpcTls("/nonexistent/chain.pem", key.toString(), "").sslContext())
        .hasMessageContaining("marchproxy.xds.tls.cert-chain-file /nonexistent/chain.pem");
    assertThatThrownBy(() -> new GrpcTls(key.toString(), cert.toString(), "").sslContext())
        .hasMessageContaining("not usable");
    assertThat(new GrpcTls("", "", "").sslContext()).isEmpty();
    assertThat(new GrpcTls(cert.toString(), key.toString(), cert.toString()).describe())
        .isEqualTo("mutual TLS");
  }

  /** A self-signed EC certificate for localhost from the JDK's keytool, written as PEM. */
  static void selfSigned(Path dir, Path certPem, Path keyPem) throws Exception {
    Path store = dir.resolve("store.p12");
    String keytool = Path.of(System.getProperty("java.home"), "bin", "keytool").toString();
    Process p =
        new ProcessBuilder(
                keytool,
                "-genkeypair",
                "-alias",
                "xds",
                "-keyalg",
                "EC",
                "-groupname",
                "secp256r1",
                "-dname",
                "CN=localhost",
                "-ext",
                "SAN=dns:localhost",
                "-validity",
                "2",
                "-keystore",
                store.toString(),
                "-storetype",
                "PKCS12",
                "-storepass",
                "changeit",
                "-keypass",
                "changeit")
            .redirectErrorStream(true)
            .start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (p.waitFor() != 0) {
      throw new IllegalStateException("keytool failed: " + out);
    }
    KeyStore ks = KeyStore.getInstance("PKCS12");
    try (var in = new FileInputStream(store.toFile())) {
      ks.load(in, "changeit".toCharArray());
    }
    var mime = Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII));
    Files.writeString(
        certPem,
        "-----BEGIN CERTIFICATE-----\n"
            + mime.encodeToString(ks.getCertificate("xds").getEncoded())
            + "\n-----END CERTIFICATE-----\n");
    Files.writeString(
        keyPem,
        "-----BEGIN PRIVATE KEY-----\n"
            + mime.encodeToString(ks.getKey("xds", "changeit".toCharArray()).getEncoded())
            + "\n-----END PRIVATE KEY-----\n");
  }
}
