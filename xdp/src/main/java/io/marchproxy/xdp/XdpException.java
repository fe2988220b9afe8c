package io.marchproxy.xdp;

/** An XDP operation failed; the message names the operation, the object and the errno. */
public class XdpException extends RuntimeException {
  public XdpException(String message) {
    super(message);
  }

  public XdpException(String message, Throwable cause) {
    super(message, cause);
  }
}
