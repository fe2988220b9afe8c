package io.marchproxy.core.users;

import at.favre.lib.crypto.bcrypt.BCrypt;
import jakarta.inject.Singleton;
import java.nio.charset.StandardCharsets;

/** bcrypt (cost 12) for operator passwords. */
@Singleton
public final class PasswordHasher {

  static final int COST = 12;

  /** bcrypt reads at most 72 bytes; longer passwords are refused rather than truncated. */
  public static final int MAX_BYTES = 72;

  public static final int MIN_LENGTH = 12;

  public String hash(char[] password) {
    requireAcceptable(password);
    return BCrypt.withDefaults().hashToString(COST, password);
  }

  public boolean matches(char[] password, String hash) {
    if (password.length == 0 || utf8Length(password) > MAX_BYTES) {
      return false;
    }
    return BCrypt.verifyer().verify(password, hash.toCharArray()).verified;
  }

  /** Throws with the rule that was broken; the message never contains the password. */
  public static void requireAcceptable(char[] password) {
    if (password.length < MIN_LENGTH) {
      throw new IllegalArgumentException("password must be at least " + MIN_LENGTH + " characters");
    }
    if (utf8Length(password) > MAX_BYTES) {
      throw new IllegalArgumentException("password must be at most " + MAX_BYTES + " bytes");
    }
  }

  private static int utf8Length(char[] password) {
    return new String(password).getBytes(StandardCharsets.UTF_8).length;
  }
}
