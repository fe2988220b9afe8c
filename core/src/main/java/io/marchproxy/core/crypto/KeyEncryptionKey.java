package io.marchproxy.core.crypto;

/**
 * Wraps the per-secret data keys. Locally a key held by MarchProxy ({@link LocalKeyEncryptionKey});
 * in the cloud AWS KMS.
 */
public interface KeyEncryptionKey {

  /** Stored with every secret, so keys can be rotated and old secrets still opened. */
  String id();

  byte[] wrap(byte[] dataKey);

  byte[] unwrap(byte[] wrappedKey);
}
