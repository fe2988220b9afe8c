package io.marchproxy.l4.config;

/** A resource the proxy cannot run; the message is the NACK's error detail. */
public final class ConfigRejected extends Exception {

  public ConfigRejected(String message) {
    super(message);
  }

  public ConfigRejected(String message, Throwable cause) {
    super(message, cause);
  }
}
