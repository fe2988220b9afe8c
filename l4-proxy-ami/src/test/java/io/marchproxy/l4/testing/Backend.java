package io.marchproxy.l4.testing;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A real TCP backend for tests: answers every chunk it reads with {@code <name>:<chunk>}, and keeps
 * the raw bytes of each connection (the PROXY header shows up there).
 */
public final class Backend implements AutoCloseable {

  private final String name;
  private final ServerSocket server;
  private final ExecutorService threads = Executors.newCachedThreadPool();
  private final List<Socket> sockets = new CopyOnWriteArrayList<>();
  public final List<ByteArrayOutputStream> received = new CopyOnWriteArrayList<>();
  public final AtomicInteger accepted = new AtomicInteger();

  public Backend(String name) throws IOException {
    this(name, 0);
  }

  public Backend(String name, int port) throws IOException {
    this.name = name;
    this.server = new ServerSocket();
    server.setReuseAddress(true);
    server.bind(new java.net.InetSocketAddress(InetAddress.getLoopbackAddress(), port));
    threads.execute(this::accept);
  }

  public int port() {
    return server.getLocalPort();
  }

  public String name() {
    return name;
  }

  private void accept() {
    while (!server.isClosed()) {
      try {
        Socket s = server.accept();
        accepted.incrementAndGet();
        sockets.add(s);
        ByteArrayOutputStream raw = new ByteArrayOutputStream();
        received.add(raw);
        threads.execute(() -> serve(s, raw));
      } catch (IOException e) {
        return;
      }
    }
  }

  private void serve(Socket s, ByteArrayOutputStream raw) {
    try (s;
        InputStream in = s.getInputStream();
        OutputStream out = s.getOutputStream()) {
      byte[] buf = new byte[65536];
      int n;
      while ((n = in.read(buf)) > 0) {
        synchronized (raw) {
          raw.write(buf, 0, n);
        }
        out.write((name + ":").getBytes(StandardCharsets.UTF_8));
        out.write(buf, 0, n);
        out.flush();
      }
    } catch (IOException e) {
      // the client went away
    }
  }

  /** Closes the listening socket and every connection (the backend dies). */
  @Override
  public void close() throws IOException {
    server.close();
    for (Socket s : sockets) {
      s.close();
    }
    threads.shutdownNow();
    try {
      threads.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
