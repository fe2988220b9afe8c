package io.marchproxy.core.ops;

/** One thing a process needs before it can do its work; {@code /readyz} asks every one. */
public interface ReadinessCheck {

  /** A short name shown in the {@code /readyz} body. */
  String name();

  /** Checks now; never throws. */
  Result check();

  record Result(boolean ready, String detail) {
    public static Result ok(String detail) {
      return new Result(true, detail);
    }

    public static Result notReady(String detail) {
      return new Result(false, detail);
    }
  }
}
