package io.marchproxy.l4.lb;

import java.nio.charset.StandardCharsets;

/** A fast 64-bit hash with good avalanche (FNV-1a, then MurmurHash3's finalizer). */
final class Hashing {

  private Hashing() {}

  static long hash(byte[] data) {
    long h = 0xcbf29ce484222325L;
    for (byte b : data) {
      h ^= b & 0xff;
      h *= 0x100000001b3L;
    }
    return mix(h);
  }

  static long hash(String s) {
    return hash(s.getBytes(StandardCharsets.UTF_8));
  }

  static long mix(long h) {
    h ^= h >>> 33;
    h *= 0xff51afd7ed558ccdL;
    h ^= h >>> 33;
    h *= 0xc4ceb9fe1a85ec53L;
    h ^= h >>> 33;
    return h;
  }
}
