package io.marchproxy.xdp;

import io.marchproxy.xdp.libbpf.Errno;
import io.marchproxy.xdp.libbpf.Libbpf;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** The BPF filesystem where maps are pinned: /sys/fs/bpf/marchproxy/&lt;iface&gt;/&lt;map&gt;. */
public final class BpfFilesystem {
  static final Path ROOT = Path.of("/sys/fs/bpf");
  static final Path MARCHPROXY = ROOT.resolve("marchproxy");

  private BpfFilesystem() {}

  public static Path pinDirectory(String iface) {
    if (iface.isEmpty() || iface.length() > 15 || iface.contains("/") || iface.startsWith(".")) {
      throw new IllegalArgumentException("not an interface name: '" + iface + "'");
    }
    return MARCHPROXY.resolve(iface);
  }

  /** Mounts bpffs at /sys/fs/bpf when it is not there yet, then makes the interface directory. */
  static Path preparePinDirectory(String iface) {
    if (!isMounted()) {
      int rc = Libbpf.mount("bpf", ROOT.toString(), "bpf", "mode=700");
      if (rc < 0) {
        throw new XdpUnavailableException(
            XdpUnavailableException.Reason.BPFFS_UNAVAILABLE,
            "the BPF filesystem is not mounted at "
                + ROOT
                + " and mounting it failed: "
                + Errno.describe(rc)
                + " (mount -t bpf bpf "
                + ROOT
                + ")");
      }
    }
    Path dir = pinDirectory(iface);
    try {
      Files.createDirectories(dir);
    } catch (IOException e) {
      throw new XdpException("cannot create pin directory " + dir + ": " + e.getMessage(), e);
    }
    return dir;
  }

  static boolean isMounted() {
    try {
      List<String> mounts = Files.readAllLines(Path.of("/proc/self/mounts"));
      return mounts.stream()
          .map(line -> line.split(" "))
          .anyMatch(f -> f.length > 2 && f[1].equals(ROOT.toString()) && f[2].equals("bpf"));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Removes the interface's pins and its directory; what is not there is not an error. */
  static void removePins(String iface) {
    Path dir = pinDirectory(iface);
    if (!Files.isDirectory(dir)) {
      return;
    }
    try (var files = Files.list(dir)) {
      for (Path f : files.toList()) {
        Files.deleteIfExists(f);
      }
      Files.deleteIfExists(dir);
    } catch (IOException e) {
      throw new XdpException("cannot remove pins in " + dir + ": " + e.getMessage(), e);
    }
  }
}
