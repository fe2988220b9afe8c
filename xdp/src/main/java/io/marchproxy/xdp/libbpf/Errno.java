package io.marchproxy.xdp.libbpf;

/** Names for the errno values libbpf and the kernel return, so messages say "EPERM", not "-1". */
public final class Errno {
  public static final int EPERM = 1;
  public static final int ENOENT = 2;
  public static final int ESRCH = 3;
  public static final int E2BIG = 7;
  public static final int EBADF = 9;
  public static final int ENOMEM = 12;
  public static final int EACCES = 13;
  public static final int EBUSY = 16;
  public static final int EEXIST = 17;
  public static final int ENODEV = 19;
  public static final int EINVAL = 22;
  public static final int ENOSPC = 28;
  public static final int EOPNOTSUPP = 95;
  public static final int ENOTSUPP = 524;

  private Errno() {}

  /** "EPERM (operation not permitted)" for 1 or -1. */
  public static String describe(int errno) {
    int e = Math.abs(errno);
    return switch (e) {
      case EPERM -> "EPERM (operation not permitted)";
      case ENOENT -> "ENOENT (no such file or entry)";
      case ESRCH -> "ESRCH (no such process)";
      case E2BIG -> "E2BIG (too big)";
      case EBADF -> "EBADF (bad file descriptor)";
      case ENOMEM -> "ENOMEM (out of memory or locked-memory limit)";
      case EACCES -> "EACCES (permission denied or rejected by the verifier)";
      case EBUSY -> "EBUSY (busy: another XDP program or mode is active)";
      case EEXIST -> "EEXIST (already exists)";
      case ENODEV -> "ENODEV (no such device)";
      case EINVAL -> "EINVAL (invalid argument or unsupported by this kernel)";
      case ENOSPC -> "ENOSPC (map full)";
      case EOPNOTSUPP, ENOTSUPP -> "EOPNOTSUPP (operation not supported)";
      default -> "errno " + e;
    };
  }
}
