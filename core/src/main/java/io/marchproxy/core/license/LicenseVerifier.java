package io.marchproxy.core.license;

import io.micronaut.context.annotation.Value;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.json.JsonMapper;
import jakarta.inject.Inject;
import jakarta.inject.Singleton;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.Signature;
import java.security.spec.X509EncodedKeySpec;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.List;

/**
 * Verifies license keys offline: compact JWS signed with Ed25519 ({@code alg: EdDSA}) by
 * MarchProxy's license key, whose public half is built into the product (overridable with {@code
 * marchproxy.license.public-key}, base64 X.509, for tests and private deployments).
 */
@Singleton
public final class LicenseVerifier {

  public static final String ISSUER = "marchproxy-licensing";
  static final String HEADER_JSON = "{\"alg\":\"EdDSA\",\"typ\":\"JWT\"}";
  static final String HEADER = b64(HEADER_JSON.getBytes(StandardCharsets.UTF_8));
  public static final int MAX_KEY_LENGTH = 8192;

  private final PublicKey publicKey;
  private final JsonMapper json;
  private final Clock clock;
  private final Duration grace;

  @Inject
  public LicenseVerifier(
      @Nullable @Value("${marchproxy.license.public-key:}") String publicKeyBase64,
      JsonMapper json,
      Clock clock,
      @Value("${marchproxy.license.grace:14d}") Duration grace) {
    this.publicKey = publicKey(publicKeyBase64);
    this.json = json;
    this.clock = clock;
    this.grace = grace;
  }

  /** Thrown with a message an operator can act on. */
  public static final class InvalidLicenseException extends RuntimeException {
    public InvalidLicenseException(String message) {
      super(message, null, false, false);
    }
  }

  /** The last key that verified, with its claims: verifying is a pure function of the key. */
  private record Verified(String key, LicenseClaims claims) {}

  private volatile Verified lastVerified;

  /**
   * The claims of a correctly signed key (expired or not). The last key that verified is remembered
   * (the installed key is checked on every publish and every admitted stream; an Ed25519
   * verification costs ~100 µs).
   */
  public LicenseClaims verify(String key) {
    Verified last = lastVerified;
    if (last != null && last.key().equals(key)) {
      return last.claims();
    }
    LicenseClaims claims = verifySignature(key);
    lastVerified = new Verified(key, claims);
    return claims;
  }

  private LicenseClaims verifySignature(String key) {
    if (key == null || key.isBlank()) {
      throw new InvalidLicenseException("the license key is empty");
    }
    if (key.length() > MAX_KEY_LENGTH) {
      throw new InvalidLicenseException(
          "the license key is longer than " + MAX_KEY_LENGTH + " characters");
    }
    String[] parts = key.trim().split("\\.", -1);
    if (parts.length != 3) {
      throw new InvalidLicenseException("the license key is not a signed token (expected 3 parts)");
    }
    if (!parts[0].equals(HEADER)) {
      throw new InvalidLicenseException("the license key is not signed with EdDSA");
    }
    try {
      Signature sig = Signature.getInstance("Ed25519");
      sig.initVerify(publicKey);
      sig.update((parts[0] + "." + parts[1]).getBytes(StandardCharsets.US_ASCII));
      if (!sig.verify(Base64.getUrlDecoder().decode(parts[2]))) {
        throw new InvalidLicenseException("the license key's signature does not verify");
      }
      LicenseClaims c =
          json.readValue(Base64.getUrlDecoder().decode(parts[1]), LicenseClaims.class);
      if (!ISSUER.equals(c.iss())) {
        throw new InvalidLicenseException("the license key was not issued by MarchProxy licensing");
      }
      if (c.maxProxies() < 1 || c.maxClusters() < 1 || c.edition() == null) {
        throw new InvalidLicenseException("the license key has invalid limits");
      }
      return c;
    } catch (GeneralSecurityException | IllegalArgumentException | IOException e) {
      throw new InvalidLicenseException("the license key is malformed: " + e.getMessage());
    }
  }

  /** What a stored key grants now (no key, or a key past its grace, grants community). */
  public License effective(@Nullable String storedKey) {
    if (storedKey == null) {
      return License.community("community");
    }
    LicenseClaims c;
    try {
      c = verify(storedKey);
    } catch (InvalidLicenseException e) {
      return License.community("invalid");
    }
    Instant now = clock.instant();
    Instant expires = Instant.ofEpochSecond(c.exp());
    Instant graceEnds = expires.plus(grace);
    String status;
    if (now.isBefore(expires)) {
      status = "valid";
    } else if (now.isBefore(graceEnds)) {
      status = "grace";
    } else {
      License community = License.community("expired");
      return new License(
          community.edition(),
          c.customer(),
          community.maxProxies(),
          community.maxClusters(),
          List.of(),
          expires,
          graceEnds,
          "expired");
    }
    return new License(
        c.edition(),
        c.customer(),
        c.maxProxies(),
        c.maxClusters(),
        c.features() == null ? List.of() : List.copyOf(c.features()),
        expires,
        graceEnds,
        status);
  }

  private static PublicKey publicKey(String base64) {
    try {
      byte[] der;
      if (base64 == null || base64.isBlank()) {
        try (InputStream in =
            LicenseVerifier.class.getResourceAsStream("/license/public-key.b64")) {
          der =
              Base64.getDecoder()
                  .decode(new String(in.readAllBytes(), StandardCharsets.US_ASCII).trim());
        }
      } else {
        der = Base64.getDecoder().decode(base64.trim());
      }
      return KeyFactory.getInstance("Ed25519").generatePublic(new X509EncodedKeySpec(der));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (GeneralSecurityException | IllegalArgumentException e) {
      throw new IllegalStateException(
          "marchproxy.license.public-key is not an Ed25519 public key", e);
    }
  }

  static String b64(byte[] bytes) {
    return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
  }
}
