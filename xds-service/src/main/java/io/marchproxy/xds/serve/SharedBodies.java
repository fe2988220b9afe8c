package io.marchproxy.xds.serve;

import com.google.common.cache.Cache;
import com.google.common.cache.CacheBuilder;
import com.google.common.util.concurrent.UncheckedExecutionException;
import com.google.protobuf.Any;
import com.google.protobuf.CodedOutputStream;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.Drainable;
import io.grpc.KnownLength;
import io.grpc.MethodDescriptor;
import io.grpc.protobuf.ProtoUtils;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutionException;

/**
 * Serialize once: every state-of-the-world ADS response body is encoded once per distinct content
 * and handed to every stream as the same bytes, followed by that stream's own nonce.
 *
 * <p>Each stream is sent its own {@link DiscoveryResponse} (its nonce differs; {@link SotwStreams}
 * builds them) and gRPC would encode each one: at 10k clusters × 100 proxies, 100 encodings of a
 * 3.8 MB response per publish. Protobuf lets fields come in any order and a parser reads them all,
 * so the wire bytes of a response are {@code [everything but the nonce] + [field 5: nonce]}: the
 * first part is the same for every stream that gets the same resources at the same version.
 *
 * <p>Which responses share a body: those whose fields other than {@code resources} and {@code
 * nonce} are equal and whose {@code resources} are the very same {@link Any} objects in the same
 * order (compared by identity; {@code Any} is immutable, so same objects mean same bytes). The
 * cache's {@link io.marchproxy.xds.cache.PackedResources} hands out one {@code Any} per resource of
 * a snapshot, so every stream asking for the same selection of a snapshot matches; anything else
 * (another selection, version, type, a resource packed afresh) is another key and is encoded on its
 * own. A body can therefore never go to a stream it does not belong to.
 */
public final class SharedBodies {

  /** The encoded bodies; bounded by their size, dropped a while after their last use. */
  private final Cache<Key, byte[]> bodies;

  private final MethodDescriptor.Marshaller<DiscoveryResponse> parser =
      ProtoUtils.marshaller(DiscoveryResponse.getDefaultInstance());

  /**
   * Bodies are kept up to {@code maxBytes}, counting each twice (its key keeps the packed resources
   * it was encoded from reachable, about as many bytes), and for 30 s after their last use: a body
   * is shared while a publish fans out, which takes seconds.
   */
  public SharedBodies(long maxBytes) {
    bodies =
        CacheBuilder.newBuilder()
            .maximumWeight(maxBytes)
            .<Key, byte[]>weigher(
                (k, body) ->
                    (int)
                        Math.min(Integer.MAX_VALUE, 2L * body.length + 16L * k.resources().size()))
            .expireAfterAccess(Duration.ofSeconds(30))
            // One segment: Guava splits the weight bound between segments, and a large body (a
            // 100k-cluster EDS response) must fit the whole bound, not an eighth of it. Lookups
            // stay lock-free; only storing a new body locks.
            .concurrencyLevel(1)
            .build();
  }

  /** 256 MB: ~33 distinct full responses of a 10k-cluster snapshot (3.8 MB each, counted twice). */
  public SharedBodies() {
    this(256L << 20);
  }

  /** The response marshaller of the ADS method: shared body + this response's nonce. */
  public MethodDescriptor.Marshaller<DiscoveryResponse> marshaller() {
    return new MethodDescriptor.Marshaller<>() {
      @Override
      public InputStream stream(DiscoveryResponse response) {
        return new Body(body(response), nonceField(response.getNonce()));
      }

      @Override
      public DiscoveryResponse parse(InputStream stream) {
        return parser.parse(stream);
      }
    };
  }

  /** Number of distinct bodies held (for tests). */
  long size() {
    bodies.cleanUp();
    return bodies.size();
  }

  byte[] body(DiscoveryResponse response) {
    Key key = Key.of(response);
    try {
      return bodies.get(key, () -> encodeWithoutNonce(response));
    } catch (ExecutionException | UncheckedExecutionException e) {
      throw new IllegalStateException("could not encode a discovery response", e.getCause());
    }
  }

  private static byte[] encodeWithoutNonce(DiscoveryResponse response) {
    return response.toBuilder().clearNonce().build().toByteArray();
  }

  /** Field 5 (nonce), length-delimited; empty when there is no nonce (proto3 default). */
  static byte[] nonceField(String nonce) {
    if (nonce.isEmpty()) {
      return new byte[0];
    }
    byte[] utf8 = nonce.getBytes(StandardCharsets.UTF_8);
    byte[] out =
        new byte
            [CodedOutputStream.computeTagSize(DiscoveryResponse.NONCE_FIELD_NUMBER)
                + CodedOutputStream.computeUInt32SizeNoTag(utf8.length)
                + utf8.length];
    CodedOutputStream c = CodedOutputStream.newInstance(out);
    try {
      c.writeByteArray(DiscoveryResponse.NONCE_FIELD_NUMBER, utf8);
      c.checkNoSpaceLeft();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out;
  }

  /**
   * Everything of a response but its nonce: the other fields (compared by value) and the resources
   * (compared by identity, element by element). The hash covers the other fields, the number of
   * resources and the identity of three of them: it only picks the candidate; equality decides.
   */
  record Key(Object rest, List<Any> resources, int hash) {

    /**
     * Field numbers of DiscoveryResponse this class knows: version, resources, canary, type, nonce,
     * control plane.
     */
    private static final boolean KNOWN_FIELDS =
        DiscoveryResponse.getDescriptor().getFields().stream()
            .map(f -> f.getNumber())
            .toList()
            .equals(List.of(1, 2, 3, 4, 5, 6));

    /** The fields besides resources and nonce, when those are all the message has. */
    record Header(String version, String typeUrl, boolean canary, Object controlPlane) {}

    static Key of(DiscoveryResponse response) {
      List<Any> resources = response.getResourcesList(); // immutable, random access
      Object rest =
          KNOWN_FIELDS && response.getUnknownFields().asMap().isEmpty()
              ? new Header(
                  response.getVersionInfo(),
                  response.getTypeUrl(),
                  response.getCanary(),
                  response.getControlPlane())
              : rest(response);
      int n = resources.size();
      int h = 31 * rest.hashCode() + n;
      if (n > 0) {
        h = 31 * h + System.identityHashCode(resources.get(0));
        h = 31 * h + System.identityHashCode(resources.get(n / 2));
        h = 31 * h + System.identityHashCode(resources.get(n - 1));
      }
      return new Key(rest, resources, h);
    }

    /**
     * Every field but nonce and resources, whatever fields the message has (unknown ones too),
     * without copying the resources list.
     */
    static DiscoveryResponse rest(DiscoveryResponse response) {
      DiscoveryResponse.Builder b = DiscoveryResponse.newBuilder();
      response
          .getAllFields()
          .forEach(
              (field, value) -> {
                int n = field.getNumber();
                if (n != DiscoveryResponse.NONCE_FIELD_NUMBER
                    && n != DiscoveryResponse.RESOURCES_FIELD_NUMBER) {
                  b.setField(field, value);
                }
              });
      return b.setUnknownFields(response.getUnknownFields()).build();
    }

    @Override
    public boolean equals(Object o) {
      if (!(o instanceof Key k)
          || k.hash != hash
          || k.resources.size() != resources.size()
          || !k.rest.equals(rest)) {
        return false;
      }
      if (k.resources == resources) {
        return true; // one list: responses built from one prototype (SotwStreams)
      }
      for (int i = 0, n = resources.size(); i < n; i++) {
        if (k.resources.get(i) != resources.get(i)) {
          return false;
        }
      }
      return true;
    }

    @Override
    public int hashCode() {
      return hash;
    }
  }

  /**
   * The wire bytes of one response: shared body, then the stream's nonce field. gRPC's framer reads
   * its length and drains it into the transport's buffers without another encoding.
   */
  static final class Body extends InputStream implements KnownLength, Drainable {
    private final byte[] shared;
    private final byte[] nonce;
    private int pos;

    Body(byte[] shared, byte[] nonce) {
      this.shared = shared;
      this.nonce = nonce;
    }

    private int length() {
      return shared.length + nonce.length;
    }

    @Override
    public int drainTo(OutputStream target) throws IOException {
      int n = length() - pos;
      if (pos < shared.length) {
        target.write(shared, pos, shared.length - pos);
        target.write(nonce);
      } else if (pos < length()) {
        target.write(nonce, pos - shared.length, length() - pos);
      }
      pos = length();
      return n;
    }

    @Override
    public int available() {
      return length() - pos;
    }

    @Override
    public int read() {
      if (pos >= length()) {
        return -1;
      }
      int b = pos < shared.length ? shared[pos] : nonce[pos - shared.length];
      pos++;
      return b & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) {
      if (len == 0) {
        return 0;
      }
      if (pos >= length()) {
        return -1;
      }
      int n = 0;
      if (pos < shared.length) {
        int c = Math.min(len, shared.length - pos);
        System.arraycopy(shared, pos, b, off, c);
        pos += c;
        n = c;
      }
      if (n < len && pos >= shared.length && pos < length()) {
        int c = Math.min(len - n, length() - pos);
        System.arraycopy(nonce, pos - shared.length, b, off + n, c);
        pos += c;
        n += c;
      }
      return n;
    }

    @Override
    public long skip(long n) {
      long k = Math.max(0, Math.min(n, length() - pos));
      pos += (int) k;
      return k;
    }
  }
}
