package io.marchproxy.xdp;

import io.marchproxy.xdp.libbpf.Errno;
import io.marchproxy.xdp.libbpf.Libbpf;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Checks, before loading, that this host can run the program, so a refusal names what is missing
 * instead of surfacing as a verifier error.
 */
public final class XdpSupport {
  private static final int PROG_TYPE_XDP = 6;
  private static final int MAP_TYPE_ARRAY = 2;
  private static final int MAP_TYPE_PERCPU_ARRAY = 6;
  private static final int MAP_TYPE_LPM_TRIE = 11;
  private static final int FUNC_JIFFIES64 = 118;
  private static final int FUNC_KTIME_GET_COARSE_NS = 160;

  /** The source tables read their size through CO-RE (table.h), which needs the kernel's BTF. */
  static final Path KERNEL_BTF = Path.of("/sys/kernel/btf/vmlinux");

  private XdpSupport() {}

  static void requireLibbpf() {
    String reason = Libbpf.unavailableReason();
    if (reason != null) {
      throw new XdpUnavailableException(XdpUnavailableException.Reason.LIBBPF_MISSING, reason);
    }
  }

  private static final int CAP_NET_ADMIN = 12;
  private static final int CAP_SYS_ADMIN = 21;
  private static final int CAP_BPF = 39;

  /** Throws {@link XdpUnavailableException} naming the first thing that is missing. */
  public static void check() {
    requireLibbpf();
    requireCapabilities();
    probe(Libbpf.probeProgType(PROG_TYPE_XDP), "XDP programs (BPF_PROG_TYPE_XDP)");
    List<String> missing = new ArrayList<>();
    record Feature(int result, String name) {}
    for (Feature f :
        List.of(
            new Feature(Libbpf.probeMapType(MAP_TYPE_ARRAY), "array maps"),
            new Feature(Libbpf.probeMapType(MAP_TYPE_PERCPU_ARRAY), "per-CPU array maps"),
            new Feature(Libbpf.probeMapType(MAP_TYPE_LPM_TRIE), "LPM trie maps"),
            new Feature(
                Files.isReadable(KERNEL_BTF) ? 1 : 0,
                "kernel BTF (" + KERNEL_BTF + ", CONFIG_DEBUG_INFO_BTF)"),
            new Feature(
                Libbpf.probeHelper(PROG_TYPE_XDP, FUNC_JIFFIES64),
                "the bpf_jiffies64 helper (Linux 5.5+)"),
            new Feature(
                Libbpf.probeHelper(PROG_TYPE_XDP, FUNC_KTIME_GET_COARSE_NS),
                "the bpf_ktime_get_coarse_ns helper (Linux 5.11+)"))) {
      if (f.result() < 0) {
        probe(f.result(), f.name());
      } else if (f.result() == 0) {
        missing.add(f.name());
      }
    }
    if (!missing.isEmpty()) {
      throw new XdpUnavailableException(
          XdpUnavailableException.Reason.KERNEL_FEATURE_MISSING,
          "this kernel lacks " + String.join(", ", missing));
    }
  }

  /**
   * libbpf's probes report a refused load as "unsupported", so privileges are checked first, from
   * the effective capability set: loading needs CAP_BPF, attaching CAP_NET_ADMIN (CAP_SYS_ADMIN
   * stands for both).
   */
  private static void requireCapabilities() {
    long effective = effectiveCapabilities();
    boolean sysAdmin = has(effective, CAP_SYS_ADMIN);
    List<String> missing = new ArrayList<>();
    if (!sysAdmin && !has(effective, CAP_BPF)) {
      missing.add("CAP_BPF");
    }
    if (!sysAdmin && !has(effective, CAP_NET_ADMIN)) {
      missing.add("CAP_NET_ADMIN");
    }
    if (!missing.isEmpty()) {
      throw new XdpUnavailableException(
          XdpUnavailableException.Reason.NOT_PERMITTED,
          "BPF is not permitted for this process: it lacks "
              + String.join(" and ", missing)
              + " (run as root or grant CAP_BPF, CAP_NET_ADMIN and CAP_PERFMON)");
    }
  }

  private static boolean has(long capabilities, int cap) {
    return (capabilities & (1L << cap)) != 0;
  }

  private static long effectiveCapabilities() {
    try {
      return Files.readAllLines(Path.of("/proc/self/status")).stream()
          .filter(line -> line.startsWith("CapEff:"))
          .map(line -> Long.parseUnsignedLong(line.substring("CapEff:".length()).trim(), 16))
          .findFirst()
          .orElse(-1L);
    } catch (IOException e) {
      return -1L; // cannot tell: let the kernel answer
    }
  }

  private static void probe(int result, String what) {
    if (result == 1) {
      return;
    }
    if (result == -Errno.EPERM || result == -Errno.EACCES) {
      throw new XdpUnavailableException(
          XdpUnavailableException.Reason.NOT_PERMITTED,
          "BPF is not permitted for this process (needs root or CAP_BPF + CAP_NET_ADMIN,"
              + " and unprivileged BPF is not enough): probing "
              + what
              + " gave "
              + Errno.describe(result));
    }
    if (result == 0) {
      throw new XdpUnavailableException(
          XdpUnavailableException.Reason.KERNEL_FEATURE_MISSING, "this kernel lacks " + what);
    }
    throw new XdpUnavailableException(
        XdpUnavailableException.Reason.KERNEL_FEATURE_MISSING,
        "cannot probe the kernel for " + what + ": " + Errno.describe(result));
  }
}
