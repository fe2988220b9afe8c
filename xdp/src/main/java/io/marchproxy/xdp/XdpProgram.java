package io.marchproxy.xdp;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;

import io.marchproxy.xdp.libbpf.Errno;
import io.marchproxy.xdp.libbpf.Libbpf;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The loaded XDP program: load it (optionally with its maps pinned for an interface), attach it,
 * run it on test frames, and detach it. Closing releases this process's handles only; an attached
 * program keeps running in the kernel until {@link #detach(String)}.
 */
public final class XdpProgram implements AutoCloseable {

  /** The program's section function name in marchproxy_xdp.c. */
  public static final String PROGRAM_NAME = "marchproxy_xdp";

  /** Where the build puts the compiled object inside the jar. */
  public static final String OBJECT_RESOURCE = "/io/marchproxy/xdp/marchproxy_xdp.bpf.o";

  static final String PROGRAM_PIN = "program";

  /**
   * How to load.
   *
   * @param object the BPF ELF object (the shipped one unless a benchmark brings its own)
   * @param pinInterface pin the maps under /sys/fs/bpf/marchproxy/&lt;iface&gt;/ and reuse what is
   *     pinned there, so state survives a restart; empty for a private, unpinned instance
   * @param maxSources sources each per-source table holds (one per address family, in buckets of
   *     four; rounded up to a whole bucket); empty keeps the compiled default
   */
  public record LoadOptions(
      byte[] object, Optional<String> pinInterface, Optional<Integer> maxSources) {
    public static LoadOptions unpinned() {
      return new LoadOptions(shippedObject(), Optional.empty(), Optional.empty());
    }

    public static LoadOptions pinnedFor(String iface) {
      return new LoadOptions(shippedObject(), Optional.of(iface), Optional.empty());
    }

    public LoadOptions withMaxSources(int max) {
      return new LoadOptions(object, pinInterface, Optional.of(max));
    }

    public LoadOptions withObject(byte[] elf) {
      return new LoadOptions(elf, pinInterface, maxSources);
    }
  }

  private final Arena arena;
  private final MemorySegment object;
  private final MemorySegment program;
  private final int programFd;
  private final XdpMaps maps;
  private final Optional<String> pinInterface;
  private boolean closed;

  private XdpProgram(
      Arena arena,
      MemorySegment object,
      MemorySegment program,
      XdpMaps maps,
      Optional<String> pin) {
    this.arena = arena;
    this.object = object;
    this.program = program;
    this.programFd = Libbpf.programFd(program);
    this.maps = maps;
    this.pinInterface = pin;
  }

  /** The compiled program shipped in this jar. */
  public static byte[] shippedObject() {
    try (InputStream in = XdpProgram.class.getResourceAsStream(OBJECT_RESOURCE)) {
      if (in == null) {
        throw new XdpException(
            "the XDP object "
                + OBJECT_RESOURCE
                + " is not on the classpath; the build compiles it with clang");
      }
      return in.readAllBytes();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** A private instance with unpinned maps: for tests, benchmarks and dry runs. */
  public static XdpProgram load() {
    return load(LoadOptions.unpinned());
  }

  public static XdpProgram load(LoadOptions options) {
    XdpSupport.check();
    options
        .pinInterface()
        .filter(iface -> Libbpf.ifNameToIndex(iface) == 0)
        .ifPresent(
            iface -> {
              throw new XdpException("no network interface named " + iface);
            });
    Optional<Path> pinDir = options.pinInterface().map(BpfFilesystem::preparePinDirectory);
    Arena arena = Arena.ofShared();
    MemorySegment buffer = arena.allocateFrom(JAVA_BYTE, options.object());
    Libbpf.PointerResult opened = Libbpf.objectOpenMem(buffer);
    if (opened.isNull()) {
      arena.close();
      throw new XdpException(
          "libbpf could not open the XDP object: " + Errno.describe(opened.errno()));
    }
    MemorySegment obj = opened.pointer();
    try {
      Map<String, MemorySegment> mapHandles = new HashMap<>();
      for (String name : XdpMaps.ALL) {
        MemorySegment map = Libbpf.findMap(obj, name);
        if (map.equals(MemorySegment.NULL)) {
          throw new XdpException("the XDP object has no map named " + name);
        }
        mapHandles.put(name, map);
        if (pinDir.isPresent()) {
          check(Libbpf.mapSetPinPath(map, pinDir.get().resolve(name).toString()), "pin " + name);
        }
      }
      if (options.maxSources().isPresent()) {
        for (String table : List.of(XdpMaps.SOURCES_V4, XdpMaps.SOURCES_V6, XdpMaps.SEEN_V4)) {
          check(
              Libbpf.mapSetMaxEntries(
                  mapHandles.get(table), XdpMaps.buckets(options.maxSources().get())),
              "size the source table " + table);
        }
      }
      int rc = Libbpf.objectLoad(obj);
      if (rc < 0) {
        throw loadFailure(rc, pinDir);
      }
      MemorySegment program = Libbpf.findProgram(obj, PROGRAM_NAME);
      if (program.equals(MemorySegment.NULL)) {
        throw new XdpException("the XDP object has no program named " + PROGRAM_NAME);
      }
      Map<String, Integer> fds = new HashMap<>();
      mapHandles.forEach((name, map) -> fds.put(name, Libbpf.mapFd(map)));
      return new XdpProgram(arena, obj, program, XdpMaps.of(fds), options.pinInterface());
    } catch (RuntimeException e) {
      Libbpf.objectClose(obj);
      arena.close();
      throw e;
    }
  }

  private static XdpException loadFailure(int rc, Optional<Path> pinDir) {
    if (rc == -Errno.EPERM) {
      return new XdpUnavailableException(
          XdpUnavailableException.Reason.NOT_PERMITTED,
          "the kernel refused to load the XDP program: "
              + Errno.describe(rc)
              + " (needs root or CAP_BPF + CAP_NET_ADMIN + CAP_PERFMON, and enough RLIMIT_MEMLOCK)");
    }
    if (rc == -Errno.EINVAL && pinDir.isPresent()) {
      return new XdpException(
          "cannot load the XDP program: "
              + Errno.describe(rc)
              + "; if maps pinned in "
              + pinDir.get()
              + " come from an older, incompatible version, detach first (libbpf printed the"
              + " details on stderr)");
    }
    return new XdpException(
        "the kernel rejected the XDP program: "
            + Errno.describe(rc)
            + " (libbpf printed the verifier log on stderr)");
  }

  private static void check(int rc, String what) {
    if (rc < 0) {
      throw new XdpException("cannot " + what + ": " + Errno.describe(rc));
    }
  }

  public XdpMaps maps() {
    return maps;
  }

  /**
   * Attaches to an interface in the preferred mode; native falls back to generic when the driver
   * refuses, and the attachment says so. Replaces a MarchProxy program already attached there.
   */
  public Attachment attach(String iface, AttachMode preferred) {
    ensureOpen();
    int ifindex = Libbpf.ifNameToIndex(iface);
    if (ifindex == 0) {
      throw new XdpException("no network interface named " + iface);
    }
    Attachment attachment = attachIn(iface, ifindex, preferred);
    if (pinInterface.filter(iface::equals).isPresent()) {
      // The pin names the program that is attached, so detach removes ours and nobody else's.
      Path pin = BpfFilesystem.pinDirectory(iface).resolve(PROGRAM_PIN);
      try {
        Files.deleteIfExists(pin);
      } catch (IOException e) {
        throw new XdpException("cannot replace the program pin " + pin + ": " + e.getMessage(), e);
      }
      check(Libbpf.programPin(program, pin.toString()), "pin the program at " + pin);
    }
    return attachment;
  }

  private Attachment attachIn(String iface, int ifindex, AttachMode preferred) {
    if (preferred == AttachMode.NATIVE) {
      int rc = Libbpf.xdpAttach(ifindex, programFd, AttachMode.NATIVE.flag());
      if (rc == 0) {
        return new Attachment(iface, ifindex, AttachMode.NATIVE, Optional.empty());
      }
      if (rc == -Errno.EPERM) {
        throw new XdpUnavailableException(
            XdpUnavailableException.Reason.NOT_PERMITTED,
            "cannot attach XDP to " + iface + ": " + Errno.describe(rc) + " (needs CAP_NET_ADMIN)");
      }
      String why = "native XDP refused by " + iface + ": " + Errno.describe(rc);
      int generic = Libbpf.xdpAttach(ifindex, programFd, AttachMode.GENERIC.flag());
      if (generic == 0) {
        return new Attachment(iface, ifindex, AttachMode.GENERIC, Optional.of(why));
      }
      throw new XdpException(why + "; generic XDP refused too: " + Errno.describe(generic));
    }
    int rc = Libbpf.xdpAttach(ifindex, programFd, AttachMode.GENERIC.flag());
    if (rc < 0) {
      throw new XdpException("cannot attach generic XDP to " + iface + ": " + Errno.describe(rc));
    }
    return new Attachment(iface, ifindex, AttachMode.GENERIC, Optional.empty());
  }

  /**
   * Detaches this program from where {@link #attach} put it, if it is still the one attached there
   * (call it in the network namespace of the interface). Pins are left alone.
   */
  public boolean detach(Attachment attachment) {
    ensureOpen();
    long ours = Integer.toUnsignedLong(Libbpf.objectId(programFd));
    long attached = Libbpf.xdpQueryId(attachment.ifindex(), attachment.mode().flag());
    if (attached != ours) {
      return false;
    }
    check(
        Libbpf.xdpDetach(attachment.ifindex(), attachment.mode().flag()),
        "detach XDP from " + attachment.iface());
    return true;
  }

  /** What is attached to an interface: the mode of the MarchProxy program, if it is there. */
  public static Optional<AttachMode> attachedMode(String iface) {
    XdpSupport.requireLibbpf();
    int ifindex = Libbpf.ifNameToIndex(iface);
    if (ifindex == 0) {
      return Optional.empty();
    }
    long ours = pinnedProgramId(iface);
    for (AttachMode mode : AttachMode.values()) {
      long id = Libbpf.xdpQueryId(ifindex, mode.flag());
      if (id > 0 && id == ours) {
        return Optional.of(mode);
      }
    }
    return Optional.empty();
  }

  /**
   * Detaches the MarchProxy program from an interface (only if the attached program is the one
   * pinned for it, so another tool's XDP program is never removed) and removes the pinned state.
   *
   * @return whether a program was detached
   */
  public static boolean detach(String iface) {
    XdpSupport.requireLibbpf();
    boolean detached = false;
    int ifindex = Libbpf.ifNameToIndex(iface);
    if (ifindex != 0) {
      long ours = pinnedProgramId(iface);
      for (AttachMode mode : AttachMode.values()) {
        long id = Libbpf.xdpQueryId(ifindex, mode.flag());
        if (id > 0 && id == ours) {
          check(Libbpf.xdpDetach(ifindex, mode.flag()), "detach XDP from " + iface);
          detached = true;
        }
      }
    }
    BpfFilesystem.removePins(iface);
    return detached;
  }

  /** The kernel id of the program pinned for an interface, or -1. */
  private static long pinnedProgramId(String iface) {
    Path pin = BpfFilesystem.pinDirectory(iface).resolve(PROGRAM_PIN);
    int fd = Libbpf.objGet(pin.toString());
    if (fd < 0) {
      return -1;
    }
    try {
      int id = Libbpf.objectId(fd);
      return id < 0 ? -1 : Integer.toUnsignedLong(id);
    } finally {
      Libbpf.close(fd);
    }
  }

  /** Runs the program once on a frame (BPF_PROG_TEST_RUN); maps and counters are updated. */
  public TestRun testRun(byte[] frame) {
    return testRun(frame, 1);
  }

  /** Runs the program `repeat` times on a frame; the kernel reports the average time. */
  public TestRun testRun(byte[] frame, int repeat) {
    ensureOpen();
    Libbpf.TestRunResult r = Libbpf.progTestRun(programFd, frame, repeat);
    if (r.rc() < 0) {
      throw new XdpException("BPF_PROG_TEST_RUN failed: " + Errno.describe(r.rc()));
    }
    return new TestRun(Verdict.of(r.retval()), Integer.toUnsignedLong(r.durationNs()), r.dataOut());
  }

  public Optional<String> pinInterface() {
    return pinInterface;
  }

  private void ensureOpen() {
    if (closed) {
      throw new IllegalStateException("the XDP program handle is closed");
    }
  }

  @Override
  public void close() {
    if (!closed) {
      closed = true;
      Libbpf.objectClose(object);
      arena.close();
    }
  }
}
