import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.grpc.Drainable;
import io.grpc.HasByteBuffer;
import io.grpc.KnownLength;
import io.grpc.MethodDescriptor;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * What the xDS benches' clients (FanoutBench, StackBench: one directory, one multi-file source
 * program each) share: reading a response where gRPC received it, and sending a message (a client's
 * request, the bytes-only server's responses) as bytes encoded ahead of time.
 */
final class AdsWire {

  private AdsWire() {}

  /**
   * The message's bytes as gRPC received them, without copying: the stream is marked so that
   * moving past a buffer keeps it (gRPC releases them when it closes the stream, after parsing).
   */
  static List<ByteBuffer> received(InputStream stream) throws IOException {
    List<ByteBuffer> parts = new ArrayList<>();
    if (!(stream instanceof HasByteBuffer h && h.byteBufferSupported() && stream.markSupported())) {
      parts.add(ByteBuffer.wrap(stream.readAllBytes()));
      return parts;
    }
    stream.mark(Integer.MAX_VALUE);
    while (stream.available() > 0) {
      ByteBuffer part = h.getByteBuffer();
      parts.add(part);
      if (stream.skip(part.remaining()) != part.remaining()) {
        throw new IOException("could not move past a received buffer");
      }
    }
    return parts;
  }

  static byte[] bytes(List<ByteBuffer> parts) {
    int n = 0;
    for (ByteBuffer p : parts) {
      n += p.remaining();
    }
    byte[] out = new byte[n];
    int at = 0;
    for (ByteBuffer p : parts) {
      int k = p.remaining();
      p.duplicate().get(out, at, k);
      at += k;
    }
    return out;
  }

  /**
   * A request's wire bytes: a DiscoveryRequest's encoding followed by its resource names encoded
   * once per subscription (protobuf joins the fields of concatenated encodings: the server parses
   * the request Envoy would send), instead of 1,000 names encoded again for every ACK.
   */
  record Wire(byte[] head, byte[] tail) {
    static Wire of(DiscoveryRequest head, byte[] tail) {
      return new Wire(head.toByteArray(), tail);
    }
  }

  /** The two parts of a request, read one after the other (gRPC drains it into its buffers). */
  static final class Parts extends InputStream
      implements KnownLength, Drainable {
    private final byte[] head;
    private final byte[] tail;
    private int pos;

    Parts(Wire w) {
      head = w.head();
      tail = w.tail();
    }

    @Override
    public int available() {
      return head.length + tail.length - pos;
    }

    @Override
    public int drainTo(OutputStream target) throws IOException {
      int n = available();
      if (pos < head.length) {
        target.write(head, pos, head.length - pos);
        target.write(tail);
      } else {
        target.write(tail, pos - head.length, n);
      }
      pos = head.length + tail.length;
      return n;
    }

    @Override
    public int read() {
      if (available() == 0) {
        return -1;
      }
      int b = pos < head.length ? head[pos] : tail[pos - head.length];
      pos++;
      return b & 0xff;
    }
  }

  static final MethodDescriptor.Marshaller<Wire> WIRE =
      new MethodDescriptor.Marshaller<>() {
        @Override
        public InputStream stream(Wire value) {
          return new Parts(value);
        }

        @Override
        public Wire parse(InputStream stream) {
          throw new UnsupportedOperationException();
        }
      };
}
