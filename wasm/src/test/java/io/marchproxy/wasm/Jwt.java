package io.marchproxy.wasm;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.util.Base64;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * JWTs signed by the JDK's own HMAC (javax.crypto.Mac), the reference the filter must agree with.
 */
final class Jwt {
  private static final Base64.Encoder URL = Base64.getUrlEncoder().withoutPadding();

  private Jwt() {}

  static String segment(String json) {
    return URL.encodeToString(json.getBytes(StandardCharsets.UTF_8));
  }

  static String segment(byte[] raw) {
    return URL.encodeToString(raw);
  }

  /**
   * A compact JWS: header and claims given as JSON text, signed with {@code alg} (HS256/384/512).
   */
  static String signWithHeader(String alg, byte[] secret, String headerJson, String claimsJson) {
    String signingInput = segment(headerJson) + "." + segment(claimsJson);
    return signingInput
        + "."
        + segment(hmac(alg, secret, signingInput.getBytes(StandardCharsets.UTF_8)));
  }

  /** Signs segments exactly as given, even when they are not valid base64url. */
  static String signRaw(String alg, byte[] secret, String signingInput) {
    return signingInput
        + "."
        + segment(hmac(alg, secret, signingInput.getBytes(StandardCharsets.UTF_8)));
  }

  static String sign(String alg, byte[] secret, String kid, String claimsJson) {
    String header =
        kid == null
            ? "{\"alg\":\"" + alg + "\",\"typ\":\"JWT\"}"
            : "{\"alg\":\"" + alg + "\",\"typ\":\"JWT\",\"kid\":\"" + kid + "\"}";
    return signWithHeader(alg, secret, header, claimsJson);
  }

  static byte[] hmac(String alg, byte[] secret, byte[] message) {
    String jdkName =
        switch (alg) {
          case "HS256" -> "HmacSHA256";
          case "HS384" -> "HmacSHA384";
          case "HS512" -> "HmacSHA512";
          default -> throw new IllegalArgumentException(alg);
        };
    try {
      Mac mac = Mac.getInstance(jdkName);
      mac.init(new SecretKeySpec(secret, jdkName));
      return mac.doFinal(message);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }
}
