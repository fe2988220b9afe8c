/*
 * ns/packet of the MarchProxy XDP program and of a naive fixed-window peer, measured in the same
 * run through BPF_PROG_TEST_RUN (the kernel's average per repetition). Run by bench/xdp/run.sh,
 * which compiles the objects this reads from the directory given as the first argument.
 */
import io.marchproxy.xdp.Budget;
import io.marchproxy.xdp.Cidr;
import io.marchproxy.xdp.Protocol;
import io.marchproxy.xdp.Verdict;
import io.marchproxy.xdp.XdpConfig;
import io.marchproxy.xdp.XdpProgram;
import io.marchproxy.xdp.libbpf.Libbpf;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.Set;

class XdpBench {
  static final int ROUNDS = Integer.getInteger("rounds", 5);
  static final int REPEAT = Integer.getInteger("repeat", 2_000_000);
  static final Budget UNLIMITED = new Budget(0xffff_ffffL, 0xffff_ffffL);

  static final byte[] DENIED = frame("203.0.113.10", 443, new byte[0]);

  static byte[] frame(String src, int port, byte[] payload) {
    try {
      return tcpFrame(src, port, payload);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  record Result(String name, Verdict verdict, long medianNs, long minNs) {}

  public static void main(String[] args) throws Exception {
    Path dir = Path.of(args[0]);
    byte[] shipped = Files.readAllBytes(dir.resolve("marchproxy_xdp.bpf.o"));
    byte[] rotating = Files.readAllBytes(dir.resolve("marchproxy_xdp_rotate.bpf.o"));
    byte[] naive = Files.readAllBytes(dir.resolve("naive_fixed_window.bpf.o"));
    byte[] naiveRotating = Files.readAllBytes(dir.resolve("naive_fixed_window_rotate.bpf.o"));
    byte[] floor = Files.readAllBytes(dir.resolve("return_pass.bpf.o"));

    byte[] ack = tcpFrame("198.51.100.10", 443, new byte[0]);
    byte[] get = tcpFrame("198.51.100.10", 443, "GET /index.html HTTP/1.1\r\nHost: a\r\n\r\n".getBytes());
    byte[] denied = DENIED;
    byte[] unprotected = tcpFrame("198.51.100.10", 22, new byte[0]);

    // Every case is set up first, then the rounds go round-robin over the cases, so a noisy
    // neighbour on the host slows all of them alike instead of one.
    List<Case> cases = new ArrayList<>();
    List<AutoCloseable> open = new ArrayList<>();
    Peer floorPeer = new Peer(floor, "return_pass");
    open.add(floorPeer);
    cases.add(new Case("floor: empty XDP program (test-run overhead)", r -> floorPeer.run(ack, r)));
    cases.add(marchProxy(open, shipped, "marchproxy: pass, not covered (unprotected port)", UNLIMITED, false, unprotected));
    cases.add(marchProxy(open, shipped, "marchproxy: pass, within budget (known source)", UNLIMITED, false, ack));
    cases.add(marchProxy(open, shipped, "marchproxy: pass, within budget + classify (HTTP GET)", UNLIMITED, true, get));
    cases.add(marchProxy(open, shipped, "marchproxy: drop, deny list", UNLIMITED, false, denied));
    cases.add(marchProxy(open, shipped, "marchproxy: drop, rate-limited (over budget)", new Budget(1, 1), false, ack));
    // Bench build that bumps the source address after each run: every repetition is a new source.
    cases.add(marchProxy(open, rotating, "marchproxy: new source (LRU insert, table full: evicts)", UNLIMITED, false, ack));
    cases.add(new Case("marchproxy: new source (table has room)", r -> marchProxyRoomy(rotating, ack)));
    cases.add(marchProxyCapped(open, rotating, ack));
    Peer naivePass = new Peer(naive, "fixed_window");
    naivePass.setLimit(0x7fff_ffff);
    Peer naiveDrop = new Peer(naive, "fixed_window");
    naiveDrop.setLimit(1);
    Peer naiveNew = new Peer(naiveRotating, "fixed_window");
    naiveNew.setLimit(0x7fff_ffff);
    open.addAll(List.of(naivePass, naiveDrop, naiveNew));
    cases.add(new Case("naive fixed window: pass, under limit", r -> naivePass.run(ack, r)));
    cases.add(new Case("naive fixed window: drop, over limit", r -> naiveDrop.run(ack, r)));
    cases.add(new Case("naive fixed window: new source (LRU insert, table full: evicts)", r -> naiveNew.run(ack, r)));
    cases.add(new Case("naive fixed window: new source (table has room)", r -> naiveRoomy(naiveRotating, ack)));

    for (Case c : cases) {
      c.run().apply(REPEAT / 10); // warm-up
    }
    long[][] ns = new long[cases.size()][ROUNDS];
    long[] verdicts = new long[cases.size()];
    for (int round = 0; round < ROUNDS; round++) {
      for (int i = 0; i < cases.size(); i++) {
        long[] r = cases.get(i).run().apply(REPEAT);
        ns[i][round] = r[0];
        verdicts[i] = r[1];
      }
    }
    for (AutoCloseable c : open) {
      c.close();
    }
    List<Result> results = new ArrayList<>();
    for (int i = 0; i < cases.size(); i++) {
      Arrays.sort(ns[i]);
      results.add(new Result(cases.get(i).name(), Verdict.of((int) verdicts[i]), ns[i][ROUNDS / 2], ns[i][0]));
    }

    System.out.printf("repeat=%d rounds=%d cpus=%d kernel=%s%n%n", REPEAT, ROUNDS, Runtime.getRuntime().availableProcessors(), System.getProperty("os.version"));
    System.out.println("| path | verdict | ns/packet (median) | min |");
    System.out.println("|---|---|---:|---:|");
    for (Result r : results) {
      System.out.printf("| %s | %s | %d | %d |%n", r.name(), r.verdict(), r.medianNs(), r.minNs());
    }
    System.out.println();
    ratio(results, "pass", "marchproxy: pass, within budget (known source)", "naive fixed window: pass, under limit");
    ratio(results, "rate-limited drop", "marchproxy: drop, rate-limited (over budget)", "naive fixed window: drop, over limit");
    ratio(results, "new source", "marchproxy: new source (LRU insert, table full: evicts)", "naive fixed window: new source (LRU insert, table full: evicts)");
    ratio(results, "new source, table has room", "marchproxy: new source (table has room)", "naive fixed window: new source (table has room)");
  }

  static void ratio(List<Result> results, String what, String ours, String theirs) {
    long a = find(results, ours).medianNs();
    long b = find(results, theirs).medianNs();
    System.out.printf("- %s: marchproxy %d ns vs naive %d ns = %.2fx%n", what, a, b, (double) a / b);
  }

  static Result find(List<Result> results, String name) {
    return results.stream().filter(r -> r.name().equals(name)).findFirst().orElseThrow();
  }

  record Case(String name, java.util.function.IntFunction<long[]> run) {}

  static Case marchProxy(List<AutoCloseable> open, byte[] object, String name, Budget budget, boolean classify, byte[] frame) {
    XdpProgram program = XdpProgram.load(XdpProgram.LoadOptions.unpinned().withObject(object));
    open.add(program);
    program.maps().protect(443, Set.of(Protocol.TCP));
    if (frame == DENIED) {
      // Lists are looked up only while they have entries, so only the deny path carries them.
      program.maps().deny(Cidr.parse("203.0.113.0/24"));
      program.maps().deny(Cidr.parse("2001:db8:bad::/48"));
    }
    program.maps().configure(new XdpConfig(true, Optional.of(budget), Optional.empty(), classify));
    return new Case(name, repeat -> run(program, frame, repeat));
  }

  static long[] run(XdpProgram program, byte[] frame, int repeat) {
    var r = program.testRun(frame, repeat);
    return new long[] {r.averageNanos(), r.verdict().ordinal()};
  }

  /** Sources a table with room takes: a fresh program per round, fewer inserts than entries. */
  static final int ROOMY_INSERTS = 20_000;

  /** A fresh program per call, fewer inserts than the table holds. */
  static long[] marchProxyRoomy(byte[] object, byte[] frame) {
    try (XdpProgram program = XdpProgram.load(XdpProgram.LoadOptions.unpinned().withObject(object))) {
      program.maps().protect(443, Set.of(Protocol.TCP));
      program.maps().configure(new XdpConfig(true, Optional.of(UNLIMITED), Optional.empty(), false));
      return run(program, frame, ROOMY_INSERTS);
    }
  }

  static long[] naiveRoomy(byte[] object, byte[] frame) {
    try (Peer p = new Peer(object, "fixed_window")) {
      p.setLimit(0x7fff_ffff);
      return p.run(frame, ROOMY_INSERTS);
    }
  }

  static Case marchProxyCapped(List<AutoCloseable> open, byte[] object, byte[] frame) {
    XdpProgram program = XdpProgram.load(XdpProgram.LoadOptions.unpinned().withObject(object));
    open.add(program);
    program.maps().protect(443, Set.of(Protocol.TCP));
    program.maps().configure(
        new XdpConfig(true, Optional.of(UNLIMITED), Optional.of(new XdpConfig.SynGuard(UNLIMITED, new Budget(1, 1))), false));
    return new Case("marchproxy: new source over the new-source cap (drop, no insert)", repeat -> run(program, frame, repeat));
  }

  /** A bench-only program loaded straight through the thin libbpf layer. */
  static final class Peer implements AutoCloseable {
    final Arena arena = Arena.ofShared();
    final MemorySegment object;
    final int programFd;

    Peer(byte[] elf, String programName) {
      Libbpf.PointerResult opened = Libbpf.objectOpenMem(arena.allocateFrom(ValueLayout.JAVA_BYTE, elf));
      if (opened.isNull()) {
        throw new IllegalStateException("cannot open " + programName + ": errno " + opened.errno());
      }
      object = opened.pointer();
      if (Libbpf.objectLoad(object) < 0) {
        throw new IllegalStateException("cannot load " + programName);
      }
      programFd = Libbpf.programFd(Libbpf.findProgram(object, programName));
    }

    void setLimit(int perSecond) {
      int fd = Libbpf.mapFd(Libbpf.findMap(object, "fw_config"));
      try (Arena a = Arena.ofConfined()) {
        MemorySegment key = a.allocate(ValueLayout.JAVA_INT);
        MemorySegment value = a.allocate(ValueLayout.JAVA_INT);
        value.set(ValueLayout.JAVA_INT, 0, perSecond);
        if (Libbpf.mapUpdate(fd, key, value, 0) < 0) {
          throw new IllegalStateException("cannot configure the peer");
        }
      }
    }

    long[] run(byte[] frame, int repeat) {
      Libbpf.TestRunResult r = Libbpf.progTestRun(programFd, frame, repeat);
      if (r.rc() < 0) {
        throw new IllegalStateException("test run failed: " + r.rc());
      }
      return new long[] {Integer.toUnsignedLong(r.durationNs()), r.retval()};
    }

    @Override
    public void close() {
      Libbpf.objectClose(object);
      arena.close();
    }
  }

  /** Ethernet + IPv4 + TCP (ACK, or PSH-ACK with a payload) to 192.0.2.1. */
  static byte[] tcpFrame(String src, int dstPort, byte[] payload) throws Exception {
    int length = Math.max(60, 14 + 20 + 20 + payload.length);
    ByteBuffer b = ByteBuffer.allocate(length);
    b.put(new byte[] {2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1}).putShort((short) 0x0800);
    b.put((byte) 0x45).put((byte) 0).putShort((short) (40 + payload.length)).putShort((short) 1).putShort((short) 0x4000);
    b.put((byte) 64).put((byte) 6).putShort((short) 0);
    b.put(java.net.InetAddress.getByName(src).getAddress()).put(new byte[] {(byte) 192, 0, 2, 1});
    b.putShort((short) 40000).putShort((short) dstPort).putInt(1).putInt(1);
    b.put((byte) 0x50).put((byte) (payload.length > 0 ? 0x18 : 0x10)).putShort((short) 65535).putInt(0);
    b.put(payload);
    return b.array();
  }
}
