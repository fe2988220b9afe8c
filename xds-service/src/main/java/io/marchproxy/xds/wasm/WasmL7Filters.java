package io.marchproxy.xds.wasm;

import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.marchproxy.core.config.ClusterConfig;
import io.marchproxy.core.crypto.Sealed;
import io.marchproxy.core.crypto.SecretBox;
import io.marchproxy.core.db.Db;
import io.marchproxy.core.license.LicenseClaims;
import io.marchproxy.core.license.LicenseVerifier;
import io.marchproxy.xds.translate.L7Filters;
import io.marchproxy.xds.translate.WasmFilters;
import io.micronaut.context.BeanProvider;
import io.micronaut.context.annotation.Value;
import io.micronaut.transaction.TransactionOperations;
import jakarta.inject.Singleton;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.time.Duration;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

/**
 * The envoy kind's L7 filters as the server builds them: {@link WasmFilters} over what Postgres
 * holds beside the revision's document — the JWT secrets of the document's credentials (opened from
 * the {@link SecretBox}, context {@code service-secret:<id>}) and the installed license (verified,
 * never forwarded) — and the code hashes the {@code wasm} jar ships.
 *
 * <p>The publisher hands this bean to {@code DataPlane.Envoy#withL7Filters}; every translation of
 * an envoy snapshot reads the material once. When Postgres cannot be read or a secret cannot be
 * opened it throws {@link MaterialUnavailableException}: the build fails and the last good snapshot
 * stays. Secrets are never logged and never part of an exception message.
 */
@Singleton
public final class WasmL7Filters implements L7Filters {

  /** The material for a build could not be loaded; the message names what, never a secret. */
  public static final class MaterialUnavailableException extends RuntimeException {
    public MaterialUnavailableException(String message, Throwable cause) {
      super(message, cause);
    }
  }

  private final Db db;
  private final TransactionOperations<Connection> tx;
  private final BeanProvider<SecretBox> box;
  private final LicenseVerifier licenses;
  private final Duration grace;
  private final String codeDirectory;
  private volatile Map<String, String> codeSha256;

  // Cheap: the master key and the code hashes are read at the first build, not here.
  WasmL7Filters(
      Db db,
      TransactionOperations<Connection> tx,
      BeanProvider<SecretBox> box,
      LicenseVerifier licenses,
      @Value("${marchproxy.license.grace:14d}") Duration grace,
      @Value("${marchproxy.xds.wasm.dir:" + WasmFilters.IMAGE_DIR + "}") String codeDirectory) {
    this.db = db;
    this.tx = tx;
    this.box = box;
    this.licenses = licenses;
    this.grace = grace;
    this.codeDirectory = codeDirectory;
  }

  @Override
  public List<HttpFilter> beforeRouter(ClusterConfig config) {
    return chain(config).beforeRouter();
  }

  @Override
  public Chain chain(ClusterConfig config) {
    Map<UUID, byte[]> secrets = jwtSecrets(config);
    try {
      return WasmFilters.build(
          config,
          new WasmFilters.Material(secrets, installedLicense(), codeSha256(), codeDirectory));
    } finally {
      secrets.values().forEach(s -> Arrays.fill(s, (byte) 0));
    }
  }

  /** The opened JWT secrets of the document's active {@code jwt} credentials. */
  Map<UUID, byte[]> jwtSecrets(ClusterConfig config) {
    List<UUID> ids =
        Optional.ofNullable(config.services()).orElse(List.of()).stream()
            .filter(s -> s != null && s.credentials() != null)
            .flatMap(s -> s.credentials().stream())
            .filter(c -> c != null && c.id() != null && "jwt".equals(c.kind()))
            .map(ClusterConfig.Credential::id)
            .distinct()
            .toList();
    if (ids.isEmpty()) {
      return new HashMap<>();
    }
    record Row(UUID id, Sealed sealed) {}
    List<Row> rows =
        read(
            "the JWT secrets of cluster " + clusterName(config),
            () ->
                db.list(
                    "select id, secret_ciphertext, secret_wrapped_key, secret_kek from service_secrets"
                        + " where id = any(?::uuid[]) and kind = 'jwt' and revoked_at is null",
                    rs ->
                        new Row(
                            Db.uuid(rs, "id"),
                            new Sealed(
                                rs.getBytes("secret_ciphertext"),
                                rs.getBytes("secret_wrapped_key"),
                                rs.getString("secret_kek"))),
                    ids));
    Map<UUID, byte[]> out = new HashMap<>();
    for (Row row : rows) {
      try {
        out.put(row.id(), box.get().open(row.sealed(), "service-secret:" + row.id()));
      } catch (RuntimeException e) {
        out.values().forEach(s -> Arrays.fill(s, (byte) 0));
        // The message names the key-encryption key at most, never key material.
        throw new MaterialUnavailableException(
            "the JWT secret of service credential "
                + row.id()
                + " cannot be opened: "
                + e.getMessage(),
            e);
      }
    }
    return out;
  }

  /**
   * The installed license as the filters see it: a key that does not verify (or none) is the
   * community edition; a valid one grants its features until its expiry plus the grace period,
   * which the filter enforces on its own clock.
   */
  WasmFilters.InstalledLicense installedLicense() {
    Optional<String> token =
        read(
            "the installed license",
            () -> db.one("select token from license where id = 1", rs -> rs.getString("token")));
    if (token.isEmpty()) {
      return WasmFilters.InstalledLicense.COMMUNITY;
    }
    LicenseClaims claims;
    try {
      claims = licenses.verify(token.get());
    } catch (LicenseVerifier.InvalidLicenseException e) {
      return WasmFilters.InstalledLicense.COMMUNITY;
    }
    return new WasmFilters.InstalledLicense(
        claims.edition(),
        claims.features() == null ? List.of() : claims.features(),
        claims.exp() + grace.toSeconds());
  }

  /** Module → sha256 of the {@code .wasm} in the {@code wasm} jar (what the Envoy image ships). */
  Map<String, String> codeSha256() {
    Map<String, String> known = codeSha256;
    if (known == null) {
      Map<String, String> read = new LinkedHashMap<>();
      for (String module : WasmFilters.MODULES) {
        String resource = "/wasm/" + module + ".wasm.sha256";
        try (InputStream in = WasmL7Filters.class.getResourceAsStream(resource)) {
          if (in == null) {
            throw new IllegalStateException(resource + " is not on the classpath (the wasm jar)");
          }
          String line = new String(in.readAllBytes(), StandardCharsets.US_ASCII).trim();
          read.put(module, line.split("\\s+", 2)[0]);
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      }
      known = Map.copyOf(read);
      codeSha256 = known;
    }
    return known;
  }

  private <T> T read(String what, java.util.function.Supplier<T> query) {
    try {
      return tx.executeRead(status -> query.get());
    } catch (RuntimeException e) {
      throw new MaterialUnavailableException(
          "could not read " + what + " from Postgres for the WASM filters: " + e.getMessage(), e);
    }
  }

  private static String clusterName(ClusterConfig config) {
    return config.cluster() == null ? "?" : config.cluster().name();
  }
}
