package io.marchproxy.xds.cache;

import com.google.common.collect.Maps;
import com.google.protobuf.Any;
import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.Message;
import com.google.protobuf.UnsafeByteOperations;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.function.IntConsumer;
import java.util.stream.IntStream;

/**
 * All resources of one type for one snapshot, by name, with versions derived from content only:
 * every replica, before and after a restart, computes the same version for the same resources. Each
 * resource is packed into its {@code Any} once, here (it is serialized anyway to hash it).
 */
public record ResourceSet(
    String typeUrl,
    SortedMap<String, Message> byName,
    String version,
    Map<String, Entry> entries,
    Selection all) {

  /** One resource: the message, its packed form and its content version. */
  public record Entry(Message message, Any packed, String version) {}

  /** The resource of that name, or null; a hash lookup (byName is sorted, for iteration). */
  public Message get(String name) {
    Entry e = entries.get(name);
    return e == null ? null : e.message();
  }

  /** Each resource's content version, by name: a view of the entries, not a copy. */
  public Map<String, String> resourceVersions() {
    return Maps.transformValues(entries, Entry::version);
  }

  /** The resource of that name with its packed form and version, or null; a hash lookup. */
  public Entry entry(String name) {
    return entries.get(name);
  }

  public static ResourceSet of(String typeUrl, Map<String, ? extends Message> resources) {
    return of(typeUrl, resources, null);
  }

  /**
   * As {@link #of(String, Map)}; a resource that is the very same message (identity) as in {@code
   * previous} keeps its version without being serialized and hashed again — the translator hands
   * back the same message for an unchanged input, so a revision that changes one service of 1,000
   * hashes one cluster and one assignment.
   */
  public static ResourceSet of(
      String typeUrl, Map<String, ? extends Message> resources, ResourceSet previous) {
    SortedMap<String, Message> sorted = new TreeMap<>(resources);
    @SuppressWarnings("unchecked")
    Map.Entry<String, Message>[] named = sorted.entrySet().toArray(new Map.Entry[0]);
    Entry[] made = new Entry[named.length];
    IntConsumer make =
        i -> {
          Message message = named[i].getValue();
          Entry e = previous == null ? null : previous.entry(named[i].getKey());
          made[i] = e != null && e.message() == message ? e : entry(typeUrl, message);
        };
    if (named.length >= PARALLEL) {
      // each resource is serialized, hashed and packed on its own: at 10,000 clusters that is
      // most of a snapshot's build, shared here between the caller and the common pool
      IntStream.range(0, named.length).parallel().forEach(make);
    } else {
      for (int i = 0; i < named.length; i++) {
        make.accept(i);
      }
    }
    Map<String, Entry> entries = HashMap.newHashMap(named.length);
    MessageDigest all = SHA256.get();
    for (int i = 0; i < named.length; i++) {
      String name = named[i].getKey();
      Entry e = made[i];
      entries.put(name, e);
      all.update(name.getBytes(StandardCharsets.UTF_8));
      all.update((byte) 0);
      all.update(e.version().getBytes(StandardCharsets.US_ASCII));
    }
    String version = sorted.isEmpty() ? "empty" : HexFormat.of().formatHex(all.digest(), 0, 8);
    return new ResourceSet(
        typeUrl,
        Collections.unmodifiableSortedMap(sorted),
        version,
        Collections.unmodifiableMap(entries),
        Selection.of(Arrays.asList(made)));
  }

  /** From this many resources on, their entries are made in parallel. */
  static final int PARALLEL = 2048;

  /** One resource serialized, hashed and packed (and remembered packed, for delta responses). */
  private static Entry entry(String typeUrl, Message message) {
    byte[] bytes = deterministic(message);
    Any packed =
        Any.newBuilder()
            .setTypeUrl(typeUrl)
            .setValue(UnsafeByteOperations.unsafeWrap(bytes))
            .build();
    Entry e =
        new Entry(message, packed, HexFormat.of().formatHex(SHA256.get().digest(bytes), 0, 8));
    // A reused entry's message was remembered when its entry was made, and stays remembered while
    // the message is reachable (weak keys).
    PackedResources.remember(message, packed);
    return e;
  }

  /** One digest per thread, reset by each {@code digest()}: no provider lookup per resource. */
  private static final ThreadLocal<MessageDigest> SHA256 =
      ThreadLocal.withInitial(ResourceSet::sha256);

  /** Struct fields are maps; their serialized order must not depend on insertion order. */
  static byte[] deterministic(Message message) {
    try {
      byte[] out = new byte[message.getSerializedSize()];
      CodedOutputStream coded = CodedOutputStream.newInstance(out);
      coded.useDeterministicSerialization();
      message.writeTo(coded);
      coded.checkNoSpaceLeft();
      return out;
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
