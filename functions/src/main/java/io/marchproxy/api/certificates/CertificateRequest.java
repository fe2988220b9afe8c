package io.marchproxy.api.certificates;

import io.marchproxy.api.problem.ApiException;
import io.marchproxy.api.problem.Checks;
import io.marchproxy.api.problem.FieldError;
import io.marchproxy.api.problem.ProblemType;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.serde.annotation.Serdeable;
import java.nio.charset.StandardCharsets;
import java.security.PrivateKey;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * An upload: {@code certificatePem} holds the leaf, optionally followed by its intermediates;
 * {@code chainPem} may hold (more) intermediates instead. On replace, {@code privateKeyPem} may be
 * left out when the new certificate keeps the stored key.
 */
@Serdeable
public record CertificateRequest(
    @Nullable String name,
    @Nullable String certificatePem,
    @Nullable String chainPem,
    @Nullable String privateKeyPem) {

  /** What a request holds once parsed and checked; {@code key} is null when it was left out. */
  record Upload(String name, CertificateChain chain, @Nullable PrivateKey key) {
    @Override
    public String toString() {
      return "Upload["
          + name
          + ", "
          + chain.subject()
          + ", key="
          + (key == null ? "-" : "***")
          + "]";
    }
  }

  /**
   * Everything that can be checked without the database: sizes (413 naming the limit), the name,
   * the chain and whether the key belongs to its leaf. Fails once, listing every invalid field.
   */
  Upload validate(Instant now, boolean keyRequired) {
    requireSize(certificatePem, "certificatePem");
    requireSize(chainPem, "chainPem");
    requireSize(privateKeyPem, "privateKeyPem");
    var checks = new Checks().name(name, "name");
    CertificateChain chain = CertificateChain.parse(certificatePem, chainPem, now, checks);
    PrivateKey key = null;
    boolean keyGiven = privateKeyPem != null && !privateKeyPem.isBlank();
    if (keyRequired) {
      checks.required(privateKeyPem, PrivateKeyPem.FIELD);
    }
    if (keyGiven) {
      List<FieldError> errors = new ArrayList<>();
      key = PrivateKeyPem.parse(privateKeyPem, errors);
      errors.forEach(e -> checks.check(false, e.field(), e.message()));
    }
    if (chain != null && key != null) {
      checks.check(
          chain.matches(key),
          PrivateKeyPem.FIELD,
          "does not belong to the certificate: it is not the private key of the leaf ("
              + chain.subject()
              + ")");
    }
    checks.throwIfInvalid();
    return new Upload(name, chain, key);
  }

  private static void requireSize(String pem, String field) {
    if (pem != null
        && pem.getBytes(StandardCharsets.UTF_8).length > CertificateChain.MAX_PEM_BYTES) {
      String message = "must be at most " + CertificateChain.MAX_PEM_BYTES + " bytes";
      throw new ApiException(
          ProblemType.PAYLOAD_TOO_LARGE,
          field + " " + message,
          List.of(new FieldError(field, message)),
          "maxPemBytes",
          Map.of());
    }
  }

  /** Never prints the key, wherever a request ends up (logs, debuggers, error reports). */
  @Override
  public String toString() {
    return "CertificateRequest[name="
        + name
        + ", privateKeyPem="
        + (privateKeyPem == null ? "null" : "***")
        + "]";
  }
}
