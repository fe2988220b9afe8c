package io.marchproxy.core.crypto;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Base64;
import java.util.HexFormat;

/**
 * The local key-encryption key: 32 bytes from {@code MARCHPROXY_MASTER_KEY} (base64), else from
 * {@code $MARCHPROXY_HOME/master.key}, created (mode 0600) on first use.
 */
public final class LocalKeyEncryptionKey implements KeyEncryptionKey {

  private static final byte[] AAD = "marchproxy-kek".getBytes(StandardCharsets.UTF_8);

  private final byte[] key;
  private final String id;

  public LocalKeyEncryptionKey(byte[] key) {
    if (key.length != 32) {
      throw new IllegalArgumentException("the master key must be 32 bytes, got " + key.length);
    }
    this.key = key.clone();
    this.id = "local:" + HexFormat.of().formatHex(Tokens.sha256(key), 0, 8);
  }

  public static LocalKeyEncryptionKey fromBase64(String base64) {
    try {
      return new LocalKeyEncryptionKey(Base64.getDecoder().decode(base64.trim()));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("MARCHPROXY_MASTER_KEY: " + e.getMessage());
    }
  }

  /** Reads the key file, or creates it when absent (safe when two processes race). */
  public static LocalKeyEncryptionKey fromFile(Path file) {
    try {
      Files.createDirectories(file.toAbsolutePath().getParent());
      if (!Files.exists(file)) {
        byte[] fresh = Base64.getEncoder().encode(Tokens.randomBytes(32));
        try {
          Path tmp = Files.createTempFile(file.toAbsolutePath().getParent(), ".master", ".tmp");
          Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rw-------"));
          Files.write(tmp, fresh, StandardOpenOption.TRUNCATE_EXISTING);
          Files.createLink(file, tmp);
          Files.delete(tmp);
        } catch (FileAlreadyExistsException lostTheRace) {
          // another process created it first; use theirs
        }
      }
      return fromBase64(Files.readString(file));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read or create the master key " + file, e);
    }
  }

  @Override
  public String id() {
    return id;
  }

  @Override
  public byte[] wrap(byte[] dataKey) {
    return Aes.encrypt(key, dataKey, AAD);
  }

  @Override
  public byte[] unwrap(byte[] wrappedKey) {
    return Aes.decrypt(key, wrappedKey, AAD);
  }
}
