package io.marchproxy.l4.tcp;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.AdaptiveRecvByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelConfig;
import io.netty.channel.RecvByteBufAllocator;
import io.netty.util.UncheckedBooleanSupplier;

/**
 * A channel's read sizing (Netty's adaptive one) that also counts every byte read from the socket —
 * including what {@code splice(2)} moves, which never reaches the pipeline. Netty reports each
 * splice's result to the channel's read handle, so this is where spliced bytes can be counted.
 */
final class ReadCounter implements RecvByteBufAllocator, RecvByteBufAllocator.ExtendedHandle {

  /** Stateless sizing policy; each counter gets its own handle from it. */
  private static final RecvByteBufAllocator SIZING =
      new AdaptiveRecvByteBufAllocator().maxMessagesPerRead(16);

  private final ExtendedHandle sizing = (ExtendedHandle) SIZING.newHandle();
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
    return this;
  }

  @Override
  public void lastBytesRead(int n) {
    if (n > 0) {
      bytes += n;
    }
    sizing.lastBytesRead(n);
  }

  @Override
  public ByteBuf allocate(ByteBufAllocator alloc) {
    return sizing.allocate(alloc);
  }

  @Override
  public int guess() {
    return sizing.guess();
  }

  @Override
  public void reset(ChannelConfig config) {
    sizing.reset(config);
  }

  @Override
  public void incMessagesRead(int n) {
    sizing.incMessagesRead(n);
  }

  @Override
  public int lastBytesRead() {
    return sizing.lastBytesRead();
  }

  @Override
  public void attemptedBytesRead(int n) {
    sizing.attemptedBytesRead(n);
  }

  @Override
  public int attemptedBytesRead() {
    return sizing.attemptedBytesRead();
  }

  @Override
  public boolean continueReading() {
    return sizing.continueReading();
  }

  @Override
  public boolean continueReading(UncheckedBooleanSupplier maybeMoreDataSupplier) {
    return sizing.continueReading(maybeMoreDataSupplier);
  }

  @Override
  public void readComplete() {
    sizing.readComplete();
  }
}
