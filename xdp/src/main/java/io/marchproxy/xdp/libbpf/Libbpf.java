package io.marchproxy.xdp.libbpf;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;

/**
 * The thin layer: libbpf.so.1 and a few libc calls through the FFM API, one method per C function,
 * with C's conventions (negative errno return values, NULL pointers) left as they are. The domain
 * classes one package up turn those into exceptions with names in them.
 */
public final class Libbpf {

  /** Where libbpf could not be loaded, why; null when it was. */
  private static final String UNAVAILABLE_REASON;

  private static final Linker LINKER = Linker.nativeLinker();
  private static final StructLayout CALL_STATE = Linker.Option.captureStateLayout();
  private static final VarHandle ERRNO =
      CALL_STATE.varHandle(MemoryLayout.PathElement.groupElement("errno"));

  private static MethodHandle objectOpenMem;
  private static MethodHandle objectLoad;
  private static MethodHandle objectClose;
  private static MethodHandle objectFindProgram;
  private static MethodHandle objectFindMap;
  private static MethodHandle programFd;
  private static MethodHandle programPin;
  private static MethodHandle mapFd;
  private static MethodHandle mapSetPinPath;
  private static MethodHandle mapSetMaxEntries;
  private static MethodHandle mapUpdate;
  private static MethodHandle mapLookup;
  private static MethodHandle mapDelete;
  private static MethodHandle mapNextKey;
  private static MethodHandle objGet;
  private static MethodHandle objGetInfo;
  private static MethodHandle xdpAttach;
  private static MethodHandle xdpDetach;
  private static MethodHandle xdpQueryId;
  private static MethodHandle progTestRun;
  private static MethodHandle probeProgType;
  private static MethodHandle probeMapType;
  private static MethodHandle probeHelper;
  private static MethodHandle possibleCpus;
  private static MethodHandle ifNameToIndex;
  private static MethodHandle clockGetres;
  private static MethodHandle close;
  private static MethodHandle mount;

  static {
    String reason = null;
    try {
      SymbolLookup bpf = SymbolLookup.libraryLookup("libbpf.so.1", Arena.global());
      SymbolLookup libc = LINKER.defaultLookup();
      objectOpenMem = errnoCall(bpf, "bpf_object__open_mem", ADDRESS, ADDRESS, JAVA_LONG, ADDRESS);
      objectLoad = call(bpf, "bpf_object__load", JAVA_INT, ADDRESS);
      objectClose = voidCall(bpf, "bpf_object__close", ADDRESS);
      objectFindProgram = call(bpf, "bpf_object__find_program_by_name", ADDRESS, ADDRESS, ADDRESS);
      objectFindMap = call(bpf, "bpf_object__find_map_by_name", ADDRESS, ADDRESS, ADDRESS);
      programFd = call(bpf, "bpf_program__fd", JAVA_INT, ADDRESS);
      programPin = call(bpf, "bpf_program__pin", JAVA_INT, ADDRESS, ADDRESS);
      mapFd = call(bpf, "bpf_map__fd", JAVA_INT, ADDRESS);
      mapSetPinPath = call(bpf, "bpf_map__set_pin_path", JAVA_INT, ADDRESS, ADDRESS);
      mapSetMaxEntries = call(bpf, "bpf_map__set_max_entries", JAVA_INT, ADDRESS, JAVA_INT);
      mapUpdate = call(bpf, "bpf_map_update_elem", JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, JAVA_LONG);
      mapLookup = call(bpf, "bpf_map_lookup_elem", JAVA_INT, JAVA_INT, ADDRESS, ADDRESS);
      mapDelete = call(bpf, "bpf_map_delete_elem", JAVA_INT, JAVA_INT, ADDRESS);
      mapNextKey = call(bpf, "bpf_map_get_next_key", JAVA_INT, JAVA_INT, ADDRESS, ADDRESS);
      objGet = call(bpf, "bpf_obj_get", JAVA_INT, ADDRESS);
      objGetInfo = call(bpf, "bpf_obj_get_info_by_fd", JAVA_INT, JAVA_INT, ADDRESS, ADDRESS);
      xdpAttach = call(bpf, "bpf_xdp_attach", JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS);
      xdpDetach = call(bpf, "bpf_xdp_detach", JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS);
      xdpQueryId = call(bpf, "bpf_xdp_query_id", JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS);
      progTestRun = call(bpf, "bpf_prog_test_run_opts", JAVA_INT, JAVA_INT, ADDRESS);
      probeProgType = call(bpf, "libbpf_probe_bpf_prog_type", JAVA_INT, JAVA_INT, ADDRESS);
      probeMapType = call(bpf, "libbpf_probe_bpf_map_type", JAVA_INT, JAVA_INT, ADDRESS);
      probeHelper = call(bpf, "libbpf_probe_bpf_helper", JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS);
      possibleCpus = call(bpf, "libbpf_num_possible_cpus", JAVA_INT);
      ifNameToIndex = call(libc, "if_nametoindex", JAVA_INT, ADDRESS);
      clockGetres = call(libc, "clock_getres", JAVA_INT, JAVA_INT, ADDRESS);
      close = call(libc, "close", JAVA_INT, JAVA_INT);
      mount = errnoCall(libc, "mount", JAVA_INT, ADDRESS, ADDRESS, ADDRESS, JAVA_LONG, ADDRESS);
    } catch (IllegalArgumentException | IllegalCallerException | UnsupportedOperationException e) {
      reason =
          "libbpf.so.1 could not be loaded ("
              + e.getMessage()
              + "); install the Debian package libbpf1";
    }
    UNAVAILABLE_REASON = reason;
  }

  private Libbpf() {}

  /** Null when libbpf is usable, else a sentence saying what is missing. */
  public static String unavailableReason() {
    return UNAVAILABLE_REASON;
  }

  private static MethodHandle call(
      SymbolLookup lookup, String name, MemoryLayout result, MemoryLayout... args) {
    return LINKER.downcallHandle(symbol(lookup, name), FunctionDescriptor.of(result, args));
  }

  private static MethodHandle voidCall(SymbolLookup lookup, String name, MemoryLayout... args) {
    return LINKER.downcallHandle(symbol(lookup, name), FunctionDescriptor.ofVoid(args));
  }

  private static MethodHandle errnoCall(
      SymbolLookup lookup, String name, MemoryLayout result, MemoryLayout... args) {
    return LINKER.downcallHandle(
        symbol(lookup, name),
        FunctionDescriptor.of(result, args),
        Linker.Option.captureCallState("errno"));
  }

  private static MemorySegment symbol(SymbolLookup lookup, String name) {
    return lookup
        .find(name)
        .orElseThrow(() -> new IllegalArgumentException("symbol " + name + " not found"));
  }

  /** Pointer results carry their error in errno; this pairs the two. */
  public record PointerResult(MemorySegment pointer, int errno) {
    public boolean isNull() {
      return pointer.equals(MemorySegment.NULL);
    }
  }

  private static RuntimeException rethrow(Throwable t) {
    if (t instanceof RuntimeException r) {
      return r;
    }
    if (t instanceof Error e) {
      throw e;
    }
    return new IllegalStateException(t);
  }

  public static PointerResult objectOpenMem(MemorySegment buffer) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment state = arena.allocate(CALL_STATE);
      MemorySegment obj =
          (MemorySegment)
              objectOpenMem.invokeExact(state, buffer, buffer.byteSize(), MemorySegment.NULL);
      return new PointerResult(obj, (int) ERRNO.get(state, 0L));
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  public static int objectLoad(MemorySegment obj) {
    try {
      return (int) objectLoad.invokeExact(obj);
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  public static void objectClose(MemorySegment obj) {
    try {
      objectClose.invokeExact(obj);
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  public static MemorySegment findProgram(MemorySegment obj, String name) {
    try (Arena arena = Arena.ofConfined()) {
      return (MemorySegment) objectFindProgram.invokeExact(obj, arena.allocateFrom(name));
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  public static MemorySegment findMap(MemorySegment obj, String name) {
    try (Arena arena = Arena.ofConfined()) {
      return (MemorySegment) objectFindMap.invokeExact(obj, arena.allocateFrom(name));
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  public static int programFd(MemorySegment program) {
    try {
      return (int) programFd.invokeExact(program);
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  public static int programPin(MemorySegment program, String path) {
    try (Arena arena = Arena.ofConfined()) {
      return (int) programPin.invokeExact(program, arena.allocateFrom(path));
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  public static int mapFd(MemorySegment map) {
    try {
      return (int) mapFd.invokeExact(map);
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  public static int mapSetPinPath(MemorySegment map, String path) {
    try (Arena arena = Arena.ofConfined()) {
      return (int) mapSetPinPath.invokeExact(map, arena.allocateFrom(path));
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  public static int mapSetMaxEntries(MemorySegment map, int maxEntries) {
    try {
      return (int) mapSetMaxEntries.invokeExact(map, maxEntries);
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  public static int mapUpdate(int fd, MemorySegment key, MemorySegment value, long flags) {
    try {
      return (int) mapUpdate.invokeExact(fd, key, value, flags);
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  public static int mapLookup(int fd, MemorySegment key, MemorySegment value) {
    try {
      return (int) mapLookup.invokeExact(fd, key, value);
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  public static int mapDelete(int fd, MemorySegment key) {
    try {
      return (int) mapDelete.invokeExact(fd, key);
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /** key NULL asks for the first key. */
  public static int mapNextKey(int fd, MemorySegment key, MemorySegment nextKey) {
    try {
      return (int) mapNextKey.invokeExact(fd, key, nextKey);
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  public static int objGet(String path) {
    try (Arena arena = Arena.ofConfined()) {
      return (int) objGet.invokeExact(arena.allocateFrom(path));
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /** A map's max_entries (the fifth u32 of bpf_map_info), or a negative errno. */
  public static int mapMaxEntries(int fd) {
    return infoInt(fd, 16);
  }

  /** The kernel id of a program or map fd (the second u32 of bpf_prog_info / bpf_map_info). */
  public static int objectId(int fd) {
    return infoInt(fd, 4);
  }

  /** The u32 at {@code offset} of an object's bpf_*_info, read up to it; or a negative errno. */
  private static int infoInt(int fd, int offset) {
    int size = offset + 4;
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment info = arena.allocate(size);
      MemorySegment len = arena.allocate(JAVA_INT);
      len.set(JAVA_INT, 0, size);
      int rc = (int) objGetInfo.invokeExact(fd, info, len);
      return rc < 0 ? rc : info.get(JAVA_INT, offset);
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  public static int xdpAttach(int ifindex, int progFd, int flags) {
    try {
      return (int) xdpAttach.invokeExact(ifindex, progFd, flags, MemorySegment.NULL);
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  public static int xdpDetach(int ifindex, int flags) {
    try {
      return (int) xdpDetach.invokeExact(ifindex, flags, MemorySegment.NULL);
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /** The id of the XDP program attached in the mode `flags` names (0 if none), or -errno. */
  public static long xdpQueryId(int ifindex, int flags) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment id = arena.allocate(JAVA_INT);
      int rc = (int) xdpQueryId.invokeExact(ifindex, flags, id);
      return rc < 0 ? rc : Integer.toUnsignedLong(id.get(JAVA_INT, 0));
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /** struct bpf_test_run_opts as libbpf 1.x defines it. */
  public static final StructLayout TEST_RUN_OPTS =
      MemoryLayout.structLayout(
          JAVA_LONG.withName("sz"),
          ADDRESS.withName("data_in"),
          ADDRESS.withName("data_out"),
          JAVA_INT.withName("data_size_in"),
          JAVA_INT.withName("data_size_out"),
          ADDRESS.withName("ctx_in"),
          ADDRESS.withName("ctx_out"),
          JAVA_INT.withName("ctx_size_in"),
          JAVA_INT.withName("ctx_size_out"),
          JAVA_INT.withName("retval"),
          JAVA_INT.withName("repeat"),
          JAVA_INT.withName("duration"),
          JAVA_INT.withName("flags"),
          JAVA_INT.withName("cpu"),
          JAVA_INT.withName("batch_size"));

  /** Result of one BPF_PROG_TEST_RUN call. */
  public record TestRunResult(int rc, int retval, int durationNs, byte[] dataOut) {}

  public static TestRunResult progTestRun(int progFd, byte[] data, int repeat) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment in = arena.allocate(Math.max(1, data.length));
      MemorySegment.copy(data, 0, in, ValueLayout.JAVA_BYTE, 0, data.length);
      // XDP may grow the frame at the tail; leave it room.
      int outCapacity = data.length + 256;
      MemorySegment out = arena.allocate(outCapacity);
      MemorySegment opts = arena.allocate(TEST_RUN_OPTS);
      opts.set(JAVA_LONG, TEST_RUN_OPTS.byteOffset(path("sz")), TEST_RUN_OPTS.byteSize());
      opts.set(ADDRESS, TEST_RUN_OPTS.byteOffset(path("data_in")), in);
      opts.set(ADDRESS, TEST_RUN_OPTS.byteOffset(path("data_out")), out);
      opts.set(JAVA_INT, TEST_RUN_OPTS.byteOffset(path("data_size_in")), data.length);
      opts.set(JAVA_INT, TEST_RUN_OPTS.byteOffset(path("data_size_out")), outCapacity);
      opts.set(JAVA_INT, TEST_RUN_OPTS.byteOffset(path("repeat")), repeat);
      int rc = (int) progTestRun.invokeExact(progFd, opts);
      int retval = opts.get(JAVA_INT, TEST_RUN_OPTS.byteOffset(path("retval")));
      int duration = opts.get(JAVA_INT, TEST_RUN_OPTS.byteOffset(path("duration")));
      int outSize = opts.get(JAVA_INT, TEST_RUN_OPTS.byteOffset(path("data_size_out")));
      byte[] dataOut =
          out.asSlice(0, Math.min(outSize, outCapacity)).toArray(ValueLayout.JAVA_BYTE);
      return new TestRunResult(rc, retval, duration, dataOut);
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  private static MemoryLayout.PathElement path(String name) {
    return MemoryLayout.PathElement.groupElement(name);
  }

  /** 1 supported, 0 not, negative errno when the probe itself failed (e.g. -EPERM). */
  public static int probeProgType(int progType) {
    try {
      return (int) probeProgType.invokeExact(progType, MemorySegment.NULL);
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  public static int probeMapType(int mapType) {
    try {
      return (int) probeMapType.invokeExact(mapType, MemorySegment.NULL);
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  public static int probeHelper(int progType, int helper) {
    try {
      return (int) probeHelper.invokeExact(progType, helper, MemorySegment.NULL);
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  public static int possibleCpus() {
    try {
      return (int) possibleCpus.invokeExact();
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /** 0 when there is no such interface. */
  public static int ifNameToIndex(String name) {
    try (Arena arena = Arena.ofConfined()) {
      return (int) ifNameToIndex.invokeExact(arena.allocateFrom(name));
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /** CLOCK_MONOTONIC_COARSE (Linux): advances once per kernel tick. */
  public static final int CLOCK_MONOTONIC_COARSE = 6;

  /**
   * clock_getres(2) in nanoseconds, or -1 if the call failed. For the coarse clocks Linux reports
   * the length of one kernel tick (jiffy).
   */
  public static long clockResolutionNanos(int clockId) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment timespec = arena.allocate(16, 8);
      int rc = (int) clockGetres.invokeExact(clockId, timespec);
      if (rc != 0) {
        return -1;
      }
      return timespec.get(JAVA_LONG, 0) * 1_000_000_000L + timespec.get(JAVA_LONG, 8);
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  public static void close(int fd) {
    try {
      int ignored = (int) close.invokeExact(fd);
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /** mount(2); returns 0 or -errno. */
  public static int mount(String source, String target, String type, String data) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment state = arena.allocate(CALL_STATE);
      int rc =
          (int)
              mount.invokeExact(
                  state,
                  arena.allocateFrom(source),
                  arena.allocateFrom(target),
                  arena.allocateFrom(type),
                  0L,
                  arena.allocateFrom(data));
      return rc == 0 ? 0 : -(int) ERRNO.get(state, 0L);
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }
}
