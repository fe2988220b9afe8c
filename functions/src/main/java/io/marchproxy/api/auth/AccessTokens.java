package io.marchproxy.api.auth;

import io.marchproxy.core.users.Role;
import io.micronaut.json.JsonMapper;
import io.micronaut.serde.annotation.Serdeable;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.time.Clock;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Short-lived access tokens: compact JWS, HS256 only, signed with a key kept encrypted in the
 * database so every API instance (and Lambda) shares it.
 */
public final class AccessTokens {

  static final String ISSUER = "marchproxy";
  private static final String HEADER =
      b64("{\"alg\":\"HS256\",\"typ\":\"JWT\"}".getBytes(StandardCharsets.UTF_8));
  private static final Base64.Decoder B64 = Base64.getUrlDecoder();

  @Serdeable
  public record Claims(
      String iss,
      String sub,
      String name,
      String role,
      List<UUID> clusters,
      long iat,
      long exp,
      String jti) {}

  private final byte[] key;
  private final JsonMapper json;
  private final Clock clock;
  private final Duration ttl;

  public AccessTokens(byte[] key, JsonMapper json, Clock clock, Duration ttl) {
    this.key = key.clone();
    this.json = json;
    this.clock = clock;
    this.ttl = ttl;
  }

  public Duration ttl() {
    return ttl;
  }

  public String issue(UUID userId, String username, Role role, List<UUID> clusters) {
    long now = clock.instant().getEpochSecond();
    var claims =
        new Claims(
            ISSUER,
            userId.toString(),
            username,
            role.name(),
            clusters,
            now,
            now + ttl.toSeconds(),
            UUID.randomUUID().toString());
    try {
      String payload = b64(json.writeValueAsBytes(claims));
      String signingInput = HEADER + "." + payload;
      return signingInput + "." + b64(mac(signingInput));
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  /** The claims of a valid, unexpired token of ours; empty for anything else. */
  public Optional<Claims> verify(String token) {
    String[] parts = token.split("\\.", -1);
    if (parts.length != 3 || !parts[0].equals(HEADER)) {
      return Optional.empty(); // only our exact header: no alg confusion, no "none"
    }
    try {
      byte[] expected = mac(parts[0] + "." + parts[1]);
      if (!MessageDigest.isEqual(expected, B64.decode(parts[2]))) {
        return Optional.empty();
      }
      Claims c = json.readValue(B64.decode(parts[1]), Claims.class);
      long now = clock.instant().getEpochSecond();
      if (!ISSUER.equals(c.iss()) || c.exp() <= now || c.sub() == null) {
        return Optional.empty();
      }
      return Optional.of(c);
    } catch (IllegalArgumentException | IOException e) {
      return Optional.empty();
    }
  }

  private byte[] mac(String signingInput) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(key, "HmacSHA256"));
      return mac.doFinal(signingInput.getBytes(StandardCharsets.US_ASCII));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  private static String b64(byte[] bytes) {
    return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
  }
}
