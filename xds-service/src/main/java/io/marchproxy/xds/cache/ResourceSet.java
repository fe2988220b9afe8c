package io.marchproxy.xds.cache;

import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.Message;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Collections;
import java.util.HexFormat;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * All resources of one type for one snapshot, by name, with versions derived from content only:
 * every replica, before and after a restart, computes the same version for the same resources.
 */
public record ResourceSet(
    String typeUrl,
    SortedMap<String, Message> byName,
    Map<String, String> resourceVersions,
    String version,
    Map<String, Message> index) {

  /** The resource of that name, or null; a hash lookup (byName is sorted, for iteration). */
  public Message get(String name) {
    return index.get(name);
  }

  public static ResourceSet of(String typeUrl, Map<String, ? extends Message> resources) {
    SortedMap<String, Message> sorted = new TreeMap<>(resources);
    SortedMap<String, String> versions = new TreeMap<>();
    MessageDigest all = sha256();
    sorted.forEach(
        (name, message) -> {
          byte[] bytes = deterministic(message);
          PackedResources.remember(typeUrl, message, bytes);
          String v = HexFormat.of().formatHex(sha256().digest(bytes), 0, 8);
          versions.put(name, v);
          all.update(name.getBytes(StandardCharsets.UTF_8));
          all.update((byte) 0);
          all.update(v.getBytes(StandardCharsets.US_ASCII));
        });
    String version = sorted.isEmpty() ? "empty" : HexFormat.of().formatHex(all.digest(), 0, 8);
    return new ResourceSet(
        typeUrl,
        Collections.unmodifiableSortedMap(sorted),
        Collections.unmodifiableMap(versions),
        version,
        Collections.unmodifiableMap(new java.util.HashMap<>(sorted)));
  }

  /** Struct fields are maps; their serialized order must not depend on insertion order. */
  static byte[] deterministic(Message message) {
    try {
      var out = new ByteArrayOutputStream(message.getSerializedSize());
      CodedOutputStream coded = CodedOutputStream.newInstance(out);
      coded.useDeterministicSerialization();
      message.writeTo(coded);
      coded.flush();
      return out.toByteArray();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
