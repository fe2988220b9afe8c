package io.marchproxy.core.crypto;

import java.nio.ByteBuffer;
import java.security.GeneralSecurityException;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/** AES-256-GCM with a random 96-bit nonce stored in front of the ciphertext. */
final class Aes {

  private static final int NONCE = 12;
  private static final int TAG_BITS = 128;

  private Aes() {}

  static byte[] encrypt(byte[] key, byte[] plaintext, byte[] aad) {
    try {
      byte[] nonce = Tokens.randomBytes(NONCE);
      Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
      c.init(
          Cipher.ENCRYPT_MODE,
          new SecretKeySpec(key, "AES"),
          new GCMParameterSpec(TAG_BITS, nonce));
      c.updateAAD(aad);
      byte[] ct = c.doFinal(plaintext);
      return ByteBuffer.allocate(NONCE + ct.length).put(nonce).put(ct).array();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("encryption failed", e);
    }
  }

  static byte[] decrypt(byte[] key, byte[] sealed, byte[] aad) {
    try {
      Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
      c.init(
          Cipher.DECRYPT_MODE,
          new SecretKeySpec(key, "AES"),
          new GCMParameterSpec(TAG_BITS, sealed, 0, NONCE));
      c.updateAAD(aad);
      return c.doFinal(sealed, NONCE, sealed.length - NONCE);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("decryption failed: wrong key or altered ciphertext", e);
    }
  }
}
