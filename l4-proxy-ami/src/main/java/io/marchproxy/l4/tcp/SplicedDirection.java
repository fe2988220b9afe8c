package io.marchproxy.l4.tcp;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.epoll.AbstractEpollStreamChannel;
import io.netty.channel.unix.FileDescriptor;
import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * One direction of a relay moved to {@code splice(2)}: bytes go socket → pipe → socket in the
 * kernel, never through the JVM. Netty drives it (reading is paused while the pipe cannot be
 * emptied into the other socket); the relay learns what moved from the source's {@link ReadCounter}
 * after every read.
 *
 * <p>The end of input needs care. At the peer's FIN Netty splices once more and shuts the input,
 * even when more than a pipe's worth is still queued in the socket before the FIN; and Netty 4.2's
 * epoll fails a later read interest on a socket whose interests all went (the channel would be
 * closed). So at the FIN this blocks further reads of the source, reads what is still queued
 * directly from the socket into buffers written behind the pipe's bytes, and only then lets the
 * relay pass the FIN on.
 */
final class SplicedDirection {

  /** What the relay hears from a spliced direction. */
  interface Relay {
    void spliced(SplicedDirection d, long bytes);

    void splicedInputEnded(SplicedDirection d);

    void spliceFailed(SplicedDirection d, Throwable cause);
  }

  /** Swallows read requests: the source's input is over, and re-arming it would fail. */
  @ChannelHandler.Sharable
  private static final class ReadGate extends ChannelOutboundHandlerAdapter {
    static final ReadGate INSTANCE = new ReadGate();

    @Override
    public void read(ChannelHandlerContext ctx) {
      // input is over
    }
  }

  private static final int DRAIN_BUFFER = 64 * 1024;

  private final Relay relay;
  private final AbstractEpollStreamChannel src;
  private final AbstractEpollStreamChannel dst;
  private final ReadCounter counter;
  private long seen;
  private boolean ended;

  private SplicedDirection(
      Relay relay,
      AbstractEpollStreamChannel src,
      AbstractEpollStreamChannel dst,
      ReadCounter counter) {
    this.relay = relay;
    this.src = src;
    this.dst = dst;
    this.counter = counter;
    this.seen = counter.bytes();
  }

  /**
   * Starts splicing {@code src} into {@code dst}; called on their event loop after what was read so
   * far has been written to {@code dst} (the pipe's bytes queue behind it).
   */
  static SplicedDirection start(
      Relay relay,
      AbstractEpollStreamChannel src,
      AbstractEpollStreamChannel dst,
      ReadCounter counter) {
    SplicedDirection d = new SplicedDirection(relay, src, dst, counter);
    // the FIN must reach inputShutdown() (a relay may have turned half-closure off after
    // passing the other side's FIN on); Netty would otherwise close at it with bytes queued
    src.config().setOption(ChannelOption.ALLOW_HALF_CLOSURE, true);
    // Netty's splice pauses and resumes auto-read itself while the pipe cannot be emptied
    src.config().setAutoRead(true);
    src.spliceTo(dst, Integer.MAX_VALUE)
        .addListener(
            f -> {
              if (!f.isSuccess()) {
                relay.spliceFailed(d, f.cause());
              }
            });
    return d;
  }

  /** After every read of the source: counts what moved. */
  void readComplete() {
    long now = counter.bytes();
    long n = now - seen;
    seen = now;
    if (n > 0) {
      relay.spliced(this, n);
    }
  }

  /** The source's FIN arrived (its input is shut down): move what is queued before it, then end. */
  void inputShutdown() {
    if (ended) {
      return;
    }
    ended = true;
    src.pipeline().addFirst(ReadGate.INSTANCE);
    readComplete();
    long moved = 0;
    try {
      FileDescriptor fd = src.fd();
      while (true) {
        ByteBuf buf = src.alloc().directBuffer(DRAIN_BUFFER);
        int n;
        try {
          ByteBuffer nio = buf.internalNioBuffer(0, buf.capacity());
          n = fd.read(nio, nio.position(), nio.limit());
        } catch (IOException | RuntimeException e) {
          buf.release();
          throw e;
        }
        if (n <= 0) {
          // -1: the FIN; 0 cannot happen once the input is shut down (no more can arrive)
          buf.release();
          break;
        }
        buf.writerIndex(n);
        moved += n;
        dst.write(buf, dst.voidPromise()); // behind the pipe's bytes: the order holds
      }
    } catch (IOException e) {
      relay.spliced(this, moved);
      relay.spliceFailed(this, e);
      return;
    }
    if (moved > 0) {
      relay.spliced(this, moved);
    }
    relay.splicedInputEnded(this);
  }
}
