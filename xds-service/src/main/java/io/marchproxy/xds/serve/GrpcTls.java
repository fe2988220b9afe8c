package io.marchproxy.xds.serve;

import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.netty.handler.ssl.ClientAuth;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContext;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContextBuilder;
import io.micronaut.context.annotation.Value;
import io.micronaut.core.annotation.Nullable;
import jakarta.inject.Singleton;
import java.io.File;
import java.util.Optional;
import javax.net.ssl.SSLException;

/**
 * Optional TLS on the xDS gRPC port: a certificate chain and its PKCS#8 private key (PEM files),
 * and optionally a CA bundle to require and verify client certificates (mTLS). Without them the
 * port is plaintext, as on a laptop. A file that is missing or unreadable stops the service at
 * start with the property's name, never a silent fallback to plaintext.
 */
@Singleton
final class GrpcTls {

  private final String certChain;
  private final String privateKey;
  private final String clientCa;

  GrpcTls(
      @Nullable @Value("${marchproxy.xds.tls.cert-chain-file:}") String certChain,
      @Nullable @Value("${marchproxy.xds.tls.private-key-file:}") String privateKey,
      @Nullable @Value("${marchproxy.xds.tls.client-ca-file:}") String clientCa) {
    this.certChain = blankToNull(certChain);
    this.privateKey = blankToNull(privateKey);
    this.clientCa = blankToNull(clientCa);
    if ((this.certChain == null) != (this.privateKey == null)) {
      throw new IllegalStateException(
          "set both marchproxy.xds.tls.cert-chain-file and marchproxy.xds.tls.private-key-file"
              + " (MARCHPROXY_XDS_TLS_CERT_CHAIN_FILE, MARCHPROXY_XDS_TLS_PRIVATE_KEY_FILE), or neither");
    }
    if (this.clientCa != null && this.certChain == null) {
      throw new IllegalStateException(
          "marchproxy.xds.tls.client-ca-file needs marchproxy.xds.tls.cert-chain-file and"
              + " marchproxy.xds.tls.private-key-file");
    }
  }

  Optional<SslContext> sslContext() {
    if (certChain == null) {
      return Optional.empty();
    }
    File chain = readable(certChain, "marchproxy.xds.tls.cert-chain-file");
    File key = readable(privateKey, "marchproxy.xds.tls.private-key-file");
    try {
      SslContextBuilder b = GrpcSslContexts.forServer(chain, key);
      if (clientCa != null) {
        b.trustManager(readable(clientCa, "marchproxy.xds.tls.client-ca-file"))
            .clientAuth(ClientAuth.REQUIRE);
      }
      return Optional.of(b.build());
    } catch (SSLException | IllegalArgumentException e) {
      throw new IllegalStateException(
          "the xDS TLS certificate or key is not usable: " + e.getMessage(), e);
    }
  }

  String describe() {
    return certChain == null ? "plaintext" : clientCa == null ? "TLS" : "mutual TLS";
  }

  private static File readable(String path, String property) {
    File f = new File(path);
    if (!f.canRead()) {
      throw new IllegalStateException(property + " " + path + " does not exist or is not readable");
    }
    return f;
  }

  private static String blankToNull(String s) {
    return s == null || s.isBlank() ? null : s;
  }
}
