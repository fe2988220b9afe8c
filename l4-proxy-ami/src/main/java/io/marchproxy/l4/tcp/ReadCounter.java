package io.marchproxy.l4.tcp;

import io.netty.channel.AdaptiveRecvByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.DefaultMaxMessagesRecvByteBufAllocator;
import io.netty.util.internal.AdaptiveCalculator;

/**
 * A channel's read sizing — Netty's adaptive one, rebuilt on the same base class so the JIT sees
 * the shape it sees for Netty's own handle — that also counts every byte read from the socket,
 * including what {@code splice(2)} moves, which never reaches the pipeline: Netty reports each
 * splice's result to the channel's read handle, so this is where spliced bytes can be counted. One
 * per channel.
 */
final class ReadCounter extends DefaultMaxMessagesRecvByteBufAllocator {

  private final Counting handle = new Counting();
  private long bytes;

  /** Installs a counter on a channel that has not read yet. */
  static ReadCounter install(Channel ch) {
    ReadCounter c = new ReadCounter();
    ch.config().setRecvByteBufAllocator(c);
    return c;
  }

  /** Bytes read from the socket so far, spliced or not. */
  long bytes() {
    return bytes;
  }

  @Override
  public Handle newHandle() {
    return handle;
  }

  private final class Counting extends MaxMessageHandle {
    private final AdaptiveCalculator sizes =
        new AdaptiveCalculator(
            AdaptiveRecvByteBufAllocator.DEFAULT_MINIMUM,
            AdaptiveRecvByteBufAllocator.DEFAULT_INITIAL,
            AdaptiveRecvByteBufAllocator.DEFAULT_MAXIMUM);

    @Override
    public void lastBytesRead(int n) {
      if (n > 0) {
        bytes += n;
      }
      // as Netty's adaptive handle: a read that filled its buffer asks for a bigger one
      if (n == attemptedBytesRead()) {
        sizes.record(n);
      }
      super.lastBytesRead(n);
    }

    @Override
    public int guess() {
      return sizes.nextSize();
    }

    @Override
    public void readComplete() {
      sizes.record(totalBytesRead());
    }
  }
}
