package io.marchproxy.xds.publish;

import com.google.protobuf.ByteString;
import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.TlsCertificate;
import io.marchproxy.core.config.ClusterConfig;
import io.marchproxy.core.crypto.Sealed;
import io.marchproxy.core.crypto.SecretBox;
import io.marchproxy.core.db.Db;
import io.marchproxy.xds.translate.ResourceNames;
import io.micronaut.transaction.TransactionOperations;
import jakarta.inject.Singleton;
import java.sql.Connection;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * The SDS secrets of a revision: each certificate the document names, its chain as stored and its
 * private key opened from the {@link SecretBox} (context {@code certificate:<id>}). The key lives
 * only in the Secret resource sent to the cluster's Envoys; it is never logged.
 */
@Singleton
class CertificateSecrets {

  /** A certificate the document names that could not be rendered, and why. */
  record Missing(String certificate, String reason) {}

  record Rendered(List<Secret> secrets, List<Missing> missing) {}

  private final Db db;
  private final TransactionOperations<Connection> tx;
  private final SecretBox box;

  CertificateSecrets(Db db, TransactionOperations<Connection> tx, SecretBox box) {
    this.db = db;
    this.tx = tx;
    this.box = box;
  }

  Rendered render(List<ClusterConfig.Certificate> certificates) {
    if (certificates.isEmpty()) {
      return new Rendered(List.of(), List.of());
    }
    record Row(UUID id, String chain, Sealed key) {}
    Map<UUID, Row> rows =
        tx
            .executeRead(
                s ->
                    db.list(
                        "select id, chain_pem, key_ciphertext, key_wrapped_key, key_kek from certificates"
                            + " where id = any(?::uuid[])",
                        rs ->
                            new Row(
                                Db.uuid(rs, "id"),
                                rs.getString("chain_pem"),
                                new Sealed(
                                    rs.getBytes("key_ciphertext"),
                                    rs.getBytes("key_wrapped_key"),
                                    rs.getString("key_kek"))),
                        certificates.stream().map(ClusterConfig.Certificate::id).toList()))
            .stream()
            .collect(Collectors.toMap(Row::id, Function.identity()));
    List<Secret> secrets = new ArrayList<>();
    List<Missing> missing = new ArrayList<>();
    for (ClusterConfig.Certificate cert : certificates) {
      Row row = rows.get(cert.id());
      if (row == null) {
        missing.add(new Missing(cert.name(), "the certificate no longer exists"));
        continue;
      }
      byte[] key;
      try {
        key = box.open(row.key(), "certificate:" + cert.id());
      } catch (RuntimeException e) {
        // The reason names the key-encryption key, never key material.
        missing.add(
            new Missing(cert.name(), "its private key cannot be opened: " + e.getMessage()));
        continue;
      }
      try {
        secrets.add(
            Secret.newBuilder()
                .setName(ResourceNames.certificateSecret(cert.name()))
                .setTlsCertificate(
                    TlsCertificate.newBuilder()
                        .setCertificateChain(DataSource.newBuilder().setInlineString(row.chain()))
                        .setPrivateKey(
                            DataSource.newBuilder().setInlineBytes(ByteString.copyFrom(key))))
                .build());
      } finally {
        Arrays.fill(key, (byte) 0);
      }
    }
    return new Rendered(secrets, missing);
  }
}
