package io.marchproxy.core.crypto;

import io.micronaut.context.annotation.Value;
import io.micronaut.core.annotation.Nullable;
import jakarta.inject.Inject;
import jakarta.inject.Singleton;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;

/**
 * Envelope encryption for secrets at rest (private keys, JWT secrets, signing keys): each secret
 * gets its own AES-256 data key, which is stored wrapped by a {@link KeyEncryptionKey}.
 */
@Singleton
public final class SecretBox {

  private final KeyEncryptionKey current;
  private final Map<String, KeyEncryptionKey> byId;

  @Inject
  SecretBox(
      @Nullable @Value("${marchproxy.master-key:}") String masterKey,
      @Value("${marchproxy.home:.marchproxy}") String home) {
    this(
        masterKey == null || masterKey.isBlank()
            ? LocalKeyEncryptionKey.fromFile(Path.of(home, "master.key"))
            : LocalKeyEncryptionKey.fromBase64(masterKey));
  }

  public SecretBox(KeyEncryptionKey kek) {
    this.current = kek;
    this.byId = Map.of(kek.id(), kek);
  }

  /** {@code context} binds the ciphertext to its use (e.g. "certificate:<id>"). */
  public Sealed seal(byte[] plaintext, String context) {
    byte[] dataKey = Tokens.randomBytes(32);
    try {
      byte[] ct = Aes.encrypt(dataKey, plaintext, context.getBytes(StandardCharsets.UTF_8));
      return new Sealed(ct, current.wrap(dataKey), current.id());
    } finally {
      Arrays.fill(dataKey, (byte) 0);
    }
  }

  public byte[] open(Sealed sealed, String context) {
    KeyEncryptionKey kek = byId.get(sealed.kekId());
    if (kek == null) {
      throw new IllegalStateException(
          "secret was sealed with key " + sealed.kekId() + ", which is not configured");
    }
    byte[] dataKey = kek.unwrap(sealed.wrappedKey());
    try {
      return Aes.decrypt(dataKey, sealed.ciphertext(), context.getBytes(StandardCharsets.UTF_8));
    } finally {
      Arrays.fill(dataKey, (byte) 0);
    }
  }
}
