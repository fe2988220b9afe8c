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
  static final int ROUNDS = Integer.getInteger("rounds", 15);
  static final int REPEAT = Integer.getInteger("repeat", 1_000_000);
  /** Extra builds of the program to measure next to the shipped one: marchproxy_xdp-NAME.bpf.o. */
  static final List<String> VARIANTS =
      Arrays.stream(System.getProperty("variants", "").split(",")).map(String::strip).filter(v -> !v.isEmpty()).toList();
  static final Budget UNLIMITED = new Budget(0xffff_ffffL, 0xffff_ffffL);
  /** Entries in the deny list of the list cases. */
  static final int DENY_ENTRIES = Integer.getInteger("denyEntries", 1000);

  static final byte[] DENIED = frame("203.0.113.10", 443, new byte[0]);

  static byte[] frame(String src, int port, byte[] payload) {
    try {
      return tcpFrame(src, port, payload);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * One path's figures over all rounds: the raw kernel average per repetition (median and min over
   * rounds), and the same with the floor (an empty program, measured in the same round)
   * subtracted round by round.
   */
  record Result(String name, Verdict verdict, long medianNs, long minNs, long netMedianNs, long netMinNs) {}

  public static void main(String[] args) throws Exception {
    Path dir = Path.of(args[0]);
    byte[] naive = Files.readAllBytes(dir.resolve("naive_fixed_window.bpf.o"));
    byte[] naiveRotating = Files.readAllBytes(dir.resolve("naive_fixed_window_rotate.bpf.o"));
    byte[] floor = Files.readAllBytes(dir.resolve("return_pass.bpf.o"));

    byte[] ack = tcpFrame("198.51.100.10", 443, new byte[0]);
    byte[] get = tcpFrame("198.51.100.10", 443, "GET /index.html HTTP/1.1\r\nHost: a\r\n\r\n".getBytes());
    byte[] unprotected = tcpFrame("198.51.100.10", 22, new byte[0]);

    // Every case is set up first, then each round runs every case once (starting at a different
    // case each round), so host noise hits every path alike; the floor is case 0.
    List<Case> cases = new ArrayList<>();
    List<AutoCloseable> open = new ArrayList<>();
    Peer floorPeer = new Peer(floor, "return_pass");
    open.add(floorPeer);
    cases.add(new Case(FLOOR, Verdict.PASS, r -> floorPeer.run(ack, r)));
    List<String> builds = new ArrayList<>();
    builds.add("");
    builds.addAll(VARIANTS);
    for (String v : builds) {
      String suffix = v.isEmpty() ? "" : "-" + v;
      String tag = v.isEmpty() ? "" : " [" + v + "]";
      byte[] shipped = Files.readAllBytes(dir.resolve("marchproxy_xdp" + suffix + ".bpf.o"));
      // Bench build that bumps the source address after each run: every repetition is a new source.
      byte[] rotating = Files.readAllBytes(dir.resolve("marchproxy_xdp_rotate" + suffix + ".bpf.o"));
      cases.add(marchProxy(open, shipped, "marchproxy: pass, not covered (unprotected port)" + tag, Verdict.PASS, UNLIMITED, false, unprotected));
      cases.add(marchProxy(open, shipped, PASS + tag, Verdict.PASS, UNLIMITED, false, ack));
      cases.add(marchProxy(open, shipped, "marchproxy: pass, within budget + classify (HTTP GET)" + tag, Verdict.PASS, UNLIMITED, true, get));
      cases.add(marchProxy(open, shipped, "marchproxy: pass, within budget, deny list has entries (source not on it)" + tag, Verdict.PASS, UNLIMITED, false, ack, true));
      cases.add(marchProxy(open, shipped, "marchproxy: drop, deny list" + tag, Verdict.DROP, UNLIMITED, false, DENIED));
      cases.add(marchProxy(open, shipped, DROP + tag, Verdict.DROP, new Budget(1, 1), false, ack));
      cases.add(marchProxy(open, rotating, NEW_FULL + tag, Verdict.PASS, UNLIMITED, false, ack));
      cases.add(new Case(NEW_ROOM + tag, Verdict.PASS, r -> marchProxyRoomy(rotating, ack)));
      cases.add(marchProxyCapped(open, rotating, ack, tag));
    }
    Peer naivePass = new Peer(naive, "fixed_window");
    naivePass.setLimit(0x7fff_ffff);
    Peer naiveDrop = new Peer(naive, "fixed_window");
    naiveDrop.setLimit(1);
    Peer naiveNew = new Peer(naiveRotating, "fixed_window");
    naiveNew.setLimit(0x7fff_ffff);
    open.addAll(List.of(naivePass, naiveDrop, naiveNew));
    cases.add(new Case(NAIVE_PASS, Verdict.PASS, r -> naivePass.run(ack, r)));
    cases.add(new Case(NAIVE_DROP, Verdict.DROP, r -> naiveDrop.run(ack, r)));
    cases.add(new Case(NAIVE_NEW_FULL, Verdict.PASS, r -> naiveNew.run(ack, r)));
    cases.add(new Case(NAIVE_NEW_ROOM, Verdict.PASS, r -> naiveRoomy(naiveRotating, ack)));

    if (System.getProperty("only") != null) {
      // Profiling: keep the floor and the paths whose name contains the given text.
      String only = System.getProperty("only");
      cases.removeIf(c -> c.name() != FLOOR && !c.name().contains(only));
    }
    for (Case c : cases) {
      c.run().apply(REPEAT / 10); // warm-up; fills the "table full" tables
    }
    long[][] ns = new long[cases.size()][ROUNDS];
    for (int round = 0; round < ROUNDS; round++) {
      // The floor opens every round, and then the cases from a rotating start.
      for (int k = 0; k < cases.size(); k++) {
        int i = k == 0 ? 0 : 1 + (k - 1 + round) % (cases.size() - 1);
        Case c = cases.get(i);
        long[] r = c.run().apply(REPEAT);
        if (Verdict.of((int) r[1]) != c.expected()) {
          throw new IllegalStateException(c.name() + ": expected " + c.expected() + ", got " + Verdict.of((int) r[1]));
        }
        ns[i][round] = r[0];
      }
    }
    for (AutoCloseable c : open) {
      c.close();
    }
    List<Result> results = new ArrayList<>();
    for (int i = 0; i < cases.size(); i++) {
      long[] raw = ns[i].clone();
      long[] net = new long[ROUNDS];
      for (int round = 0; round < ROUNDS; round++) {
        net[round] = ns[i][round] - ns[0][round];
      }
      Arrays.sort(raw);
      Arrays.sort(net);
      results.add(new Result(cases.get(i).name(), cases.get(i).expected(), raw[ROUNDS / 2], raw[0], net[ROUNDS / 2], net[0]));
    }

    System.out.printf("repeat=%d rounds=%d cpus=%d kernel=%s%n%n", REPEAT, ROUNDS, Runtime.getRuntime().availableProcessors(), System.getProperty("os.version"));
    System.out.println("| path | verdict | raw median | raw min | − floor, median | − floor, min |");
    System.out.println("|---|---|---:|---:|---:|---:|");
    for (Result r : results) {
      System.out.printf("| %s | %s | %d | %d | %d | %d |%n", r.name(), r.verdict(), r.medianNs(), r.minNs(), r.netMedianNs(), r.netMinNs());
    }
    System.out.println();
    System.out.println("Floor by round (ns): " + Arrays.toString(ns[0]));
    System.out.println();
    for (String v : builds) {
      String tag = v.isEmpty() ? "" : " [" + v + "]";
      if (!v.isEmpty()) {
        System.out.println("variant " + v + ":");
      }
      ratio(results, "pass within budget", PASS + tag, NAIVE_PASS);
      ratio(results, "rate-limited drop", DROP + tag, NAIVE_DROP);
      ratio(results, "new source, table full", NEW_FULL + tag, NAIVE_NEW_FULL);
      ratio(results, "new source, table has room", NEW_ROOM + tag, NAIVE_NEW_ROOM);
    }
  }

  static final String FLOOR = "floor: empty XDP program (test-run overhead)";
  static final String PASS = "marchproxy: pass, within budget (known source)";
  static final String DROP = "marchproxy: drop, rate-limited (over budget)";
  static final String NEW_FULL = "marchproxy: new source (table full: every insert replaces a source)";
  static final String NEW_ROOM = "marchproxy: new source (table has room)";
  static final String NAIVE_PASS = "naive fixed window: pass, under limit";
  static final String NAIVE_DROP = "naive fixed window: drop, over limit";
  static final String NAIVE_NEW_FULL = "naive fixed window: new source (LRU insert, table full: evicts)";
  static final String NAIVE_NEW_ROOM = "naive fixed window: new source (table has room)";

  static void ratio(List<Result> results, String what, String ours, String theirs) {
    if (find(results, ours).isEmpty() || find(results, theirs).isEmpty()) {
      return; // filtered out with -Donly
    }
    Result a = find(results, ours).get();
    Result b = find(results, theirs).get();
    System.out.printf(
        "- %s: marchproxy %d ns vs naive %d ns = %.2fx raw; %d vs %d = %.2fx with the floor subtracted%n",
        what, a.medianNs(), b.medianNs(), (double) a.medianNs() / b.medianNs(),
        a.netMedianNs(), b.netMedianNs(), (double) a.netMedianNs() / Math.max(1, b.netMedianNs()));
  }

  static Optional<Result> find(List<Result> results, String name) {
    return results.stream().filter(r -> r.name().equals(name)).findFirst();
  }

  record Case(String name, Verdict expected, java.util.function.IntFunction<long[]> run) {}

  static Case marchProxy(List<AutoCloseable> open, byte[] object, String name, Verdict expected, Budget budget, boolean classify, byte[] frame) {
    return marchProxy(open, object, name, expected, budget, classify, frame, frame == DENIED);
  }

  static Case marchProxy(List<AutoCloseable> open, byte[] object, String name, Verdict expected, Budget budget, boolean classify, byte[] frame, boolean lists) {
    XdpProgram program = XdpProgram.load(XdpProgram.LoadOptions.unpinned().withObject(object));
    open.add(program);
    program.maps().protect(443, Set.of(Protocol.TCP));
    if (lists) {
      // Lists are looked up only while they have entries, so only the list cases carry them:
      // the denied /24, an IPv6 /48 and DENY_ENTRIES - 2 more (/24s and /32s elsewhere), so the
      // trie has the depth of a real list.
      program.maps().deny(Cidr.parse("203.0.113.0/24"));
      program.maps().deny(Cidr.parse("2001:db8:bad::/48"));
      for (int i = 0; i < DENY_ENTRIES - 2; i++) {
        int a = 11 + (i % 180);
        int b = (i * 37) % 256;
        String net = a + "." + b + "." + (i / 180);
        program.maps().deny(Cidr.parse(i % 2 == 0 ? net + ".0/24" : net + ".9/32"));
      }
    }
    program.maps().configure(new XdpConfig(true, Optional.of(budget), Optional.empty(), classify));
    return new Case(name, expected, repeat -> run(program, frame, repeat));
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

  static Case marchProxyCapped(List<AutoCloseable> open, byte[] object, byte[] frame, String tag) {
    XdpProgram program = XdpProgram.load(XdpProgram.LoadOptions.unpinned().withObject(object));
    open.add(program);
    program.maps().protect(443, Set.of(Protocol.TCP));
    program.maps().configure(
        new XdpConfig(true, Optional.of(UNLIMITED), Optional.of(new XdpConfig.SynGuard(UNLIMITED, new Budget(1, 1))), false));
    return new Case("marchproxy: new source over the new-source cap (drop, no insert)" + tag, Verdict.DROP, repeat -> run(program, frame, repeat));
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
