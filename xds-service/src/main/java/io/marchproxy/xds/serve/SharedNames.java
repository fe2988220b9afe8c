package io.marchproxy.xds.serve;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.WireFormat;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.grpc.KnownLength;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.protobuf.ProtoUtils;
import java.io.IOException;
import java.io.InputStream;
import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.zip.CRC32C;

/**
 * Parse once: the resource names of a state-of-the-world request, when they are byte for byte the
 * names of a request parsed before, are taken as that request's list instead of being decoded
 * again.
 *
 * <p>A proxy subscribed to endpoints by name repeats every name in every request, ACKs included: at
 * 1,000 services × 100 proxies each write brings 100 requests of 1,000 names, decoded into 100,000
 * strings that are equal to the last ones — measured, more than half of what xds-service allocated
 * during a run of writes, and the young collections it caused were the writes' slowest ACKs. Here
 * the names' bytes (one run of field 3, as every client writes them) are looked up by length and
 * CRC32C among those seen recently and compared byte for byte; on a match the request is built
 * around the list decoded the first time (protobuf's builder shares an unmodified repeated field),
 * so every proxy of a group asking for the same names holds the same list object, which {@link
 * io.marchproxy.xds.cache.SnapshotCache} then compares by identity. Anything else — names not in
 * one run, few names, bytes that do not decode — is parsed as usual, and errors are the standard
 * parser's.
 */
final class SharedNames {

  /** Below this many bytes of names, parsing them is cheaper than looking them up. */
  static final int MIN_BYTES = 512;

  /** Bound on the bytes of the names remembered; all are forgotten when it is passed. */
  private final long maxBytes;

  private final Map<Long, Known> known = new ConcurrentHashMap<>();
  private final AtomicLong bytes = new AtomicLong();
  private final MethodDescriptor.Marshaller<DiscoveryRequest> standard =
      ProtoUtils.marshaller(DiscoveryRequest.getDefaultInstance());

  /** Names seen: their bytes, and a request holding only them (decoded, immutable). */
  private record Known(byte[] bytes, DiscoveryRequest names) {}

  SharedNames(long maxBytes) {
    this.maxBytes = maxBytes;
  }

  /** 32 MB of names: ~1,500 distinct lists of 1,000 service names. */
  SharedNames() {
    this(32L << 20);
  }

  /** The request marshaller of the state-of-the-world ADS method. */
  MethodDescriptor.Marshaller<DiscoveryRequest> marshaller() {
    return new MethodDescriptor.Marshaller<>() {
      @Override
      public InputStream stream(DiscoveryRequest value) {
        return standard.stream(value);
      }

      @Override
      public DiscoveryRequest parse(InputStream stream) {
        try {
          return SharedNames.this.parse(bytes(stream));
        } catch (IOException e) {
          throw Status.INTERNAL
              .withDescription("Invalid protobuf byte sequence")
              .withCause(e)
              .asRuntimeException();
        }
      }
    };
  }

  /** The request's bytes: gRPC's streams know their length, so they are read into one array. */
  private static byte[] bytes(InputStream stream) throws IOException {
    if (stream instanceof KnownLength) {
      byte[] b = new byte[stream.available()];
      if (stream.readNBytes(b, 0, b.length) == b.length && stream.read() < 0) {
        return b;
      }
      throw new IOException("the request's length differs from the announced one");
    }
    return stream.readAllBytes();
  }

  /** Number of name lists remembered (for tests). */
  int size() {
    return known.size();
  }

  DiscoveryRequest parse(byte[] wire) throws InvalidProtocolBufferException {
    int start = -1;
    int end = -1;
    boolean oneRun = true;
    try {
      CodedInputStream in = CodedInputStream.newInstance(wire);
      while (true) {
        int at = in.getTotalBytesRead();
        int tag = in.readTag();
        if (tag == 0) {
          break;
        }
        boolean name =
            WireFormat.getTagFieldNumber(tag) == DiscoveryRequest.RESOURCE_NAMES_FIELD_NUMBER
                && WireFormat.getTagWireType(tag) == WireFormat.WIRETYPE_LENGTH_DELIMITED;
        if (name) {
          if (start < 0) {
            start = at;
          } else if (end != at) {
            oneRun = false;
          }
        }
        in.skipField(tag);
        if (name) {
          end = in.getTotalBytesRead();
        }
      }
    } catch (InvalidProtocolBufferException e) {
      return DiscoveryRequest.parseFrom(wire); // the standard parser's error
    } catch (IOException e) {
      throw new InvalidProtocolBufferException(e);
    }
    if (start < 0 || !oneRun || end - start < MIN_BYTES) {
      return DiscoveryRequest.parseFrom(wire);
    }
    DiscoveryRequest names = names(wire, start, end);
    byte[] rest = new byte[wire.length - (end - start)];
    System.arraycopy(wire, 0, rest, 0, start);
    System.arraycopy(wire, end, rest, start, wire.length - end);
    // the empty builder takes the names' list as it is; the other fields come after
    return DiscoveryRequest.newBuilder().mergeFrom(names).mergeFrom(rest).build();
  }

  /** The names in {@code wire[start, end)}: the list decoded before when the bytes are the same. */
  private DiscoveryRequest names(byte[] wire, int start, int end)
      throws InvalidProtocolBufferException {
    int length = end - start;
    CRC32C crc = new CRC32C();
    crc.update(wire, start, length);
    long key = (crc.getValue() << 32) | length;
    Known k = known.get(key);
    if (k != null && Arrays.equals(k.bytes(), 0, length, wire, start, end)) {
      return k.names();
    }
    byte[] own = Arrays.copyOfRange(wire, start, end);
    Known mine = new Known(own, DiscoveryRequest.parseFrom(own));
    // two streams decoding the same new names at once: the first one stored is the one kept
    Known kept =
        known.merge(
            key, mine, (old, next) -> Arrays.equals(old.bytes(), next.bytes()) ? old : next);
    if (kept == mine && bytes.addAndGet(length) > maxBytes) {
      known.clear(); // all forgotten but these
      known.put(key, mine);
      bytes.set(length);
    }
    return kept.bytes() == own || Arrays.equals(kept.bytes(), own) ? kept.names() : mine.names();
  }
}
