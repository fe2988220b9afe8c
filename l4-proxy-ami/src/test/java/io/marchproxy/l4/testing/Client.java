package io.marchproxy.l4.testing;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

/** A blocking TCP client for tests: send a line, read what comes back. */
public final class Client implements AutoCloseable {

  private final Socket socket;

  public Client(int port) throws IOException {
    socket = new Socket();
    socket.connect(new InetSocketAddress("127.0.0.1", port), 3000);
    socket.setSoTimeout(5000);
  }

  public Client(Socket socket) throws IOException {
    this.socket = socket;
    socket.setSoTimeout(5000);
  }

  public Socket socket() {
    return socket;
  }

  public void send(byte[] data) throws IOException {
    socket.getOutputStream().write(data);
    socket.getOutputStream().flush();
  }

  /** Sends {@code text}, returns the answer (the backend's {@code name:text}). */
  public String ask(String text) throws IOException {
    send(text.getBytes(StandardCharsets.UTF_8));
    return read(text.length());
  }

  /** Reads until the answer to a message of {@code length} bytes is complete, or EOF. */
  public String read(int length) throws IOException {
    InputStream in = socket.getInputStream();
    StringBuilder b = new StringBuilder();
    byte[] buf = new byte[8192];
    while (true) {
      int colon = b.indexOf(":");
      if (colon >= 0 && b.length() - colon - 1 >= length) {
        return b.toString();
      }
      int n = in.read(buf);
      if (n < 0) {
        return b.toString();
      }
      b.append(new String(buf, 0, n, StandardCharsets.UTF_8));
    }
  }

  /** Reads until what came back ends with {@code suffix} (or EOF). */
  public String readUntil(String suffix) throws IOException {
    InputStream in = socket.getInputStream();
    StringBuilder b = new StringBuilder();
    byte[] buf = new byte[8192];
    while (!b.toString().endsWith(suffix)) {
      int n = in.read(buf);
      if (n < 0) {
        break;
      }
      b.append(new String(buf, 0, n, StandardCharsets.ISO_8859_1));
    }
    return b.toString();
  }

  /** True when the proxy closed the connection (EOF or reset) without sending anything. */
  /** Whether the peer closes (FIN or reset) within the read timeout; false if it stays open. */
  public boolean closedByPeer() {
    try {
      return socket.getInputStream().read() < 0;
    } catch (java.net.SocketTimeoutException e) {
      return false;
    } catch (IOException e) {
      return true;
    }
  }

  @Override
  public void close() throws IOException {
    socket.close();
  }
}
