package io.marchproxy.core.crypto;

/** An encrypted secret: AES-256-GCM ciphertext, its data key wrapped by the named KEK. */
public record Sealed(byte[] ciphertext, byte[] wrappedKey, String kekId) {}
