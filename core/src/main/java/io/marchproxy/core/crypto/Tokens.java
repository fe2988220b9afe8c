package io.marchproxy.core.crypto;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.HexFormat;

/**
 * Random secrets handed out once (cluster keys, API tokens, refresh tokens, service tokens). They
 * carry 190 bits of entropy, so a plain SHA-256 is the right way to store them: lookups by hash,
 * nothing to brute-force.
 */
public final class Tokens {

  private static final char[] BASE62 =
      "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".toCharArray();
  private static final SecureRandom RANDOM = new SecureRandom();
  private static final int RANDOM_CHARS = 32;

  /** Characters after the kind shown in listings, enough to tell keys apart. */
  public static final int PREFIX_CHARS = 8;

  private Tokens() {}

  /** A new secret like {@code mpk_3fA9…}: kind, underscore, 32 base62 characters. */
  public static String generate(String kind) {
    var sb = new StringBuilder(kind.length() + 1 + RANDOM_CHARS).append(kind).append('_');
    for (int i = 0; i < RANDOM_CHARS; i++) {
      sb.append(BASE62[RANDOM.nextInt(BASE62.length)]);
    }
    return sb.toString();
  }

  /** What a listing may show: the kind and the first characters. */
  public static String prefix(String token) {
    int underscore = token.indexOf('_');
    return token.substring(0, Math.min(token.length(), underscore + 1 + PREFIX_CHARS));
  }

  public static String sha256Hex(String value) {
    return HexFormat.of().formatHex(sha256(value.getBytes(StandardCharsets.UTF_8)));
  }

  public static byte[] sha256(byte[] value) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(value);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  public static byte[] randomBytes(int n) {
    byte[] b = new byte[n];
    RANDOM.nextBytes(b);
    return b;
  }
}
