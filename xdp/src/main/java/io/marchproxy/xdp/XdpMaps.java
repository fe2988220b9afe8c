package io.marchproxy.xdp;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import io.marchproxy.xdp.libbpf.Errno;
import io.marchproxy.xdp.libbpf.Libbpf;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;

/**
 * The program's maps, by file descriptor: either those of a program this process loaded, or the
 * pinned ones of a program a previous process attached. Every write is one bpf() syscall (about 2
 * µs); none of this is on a per-packet path.
 */
public final class XdpMaps implements AutoCloseable {

  /** The map names, which are also the pin file names. */
  static final String CONFIG = "mp_config";

  static final String PORTS = "mp_ports";
  static final String SOURCES_V4 = "mp_sources_v4";
  static final String SOURCES_V6 = "mp_sources_v6";

  /** One word of slot fingerprints per bucket of {@link #SOURCES_V4}, sized with it. */
  static final String SEEN_V4 = "mp_seen_v4";

  static final String ADMISSION = "mp_admission";
  static final String ALLOW_V4 = "mp_allow_v4";
  static final String ALLOW_V6 = "mp_allow_v6";
  static final String DENY_V4 = "mp_deny_v4";
  static final String DENY_V6 = "mp_deny_v6";
  static final String COUNTERS = "mp_counters";
  static final String LIST_CACHE = "mp_list_cache";
  static final String LISTS_GEN = "mp_lists_gen";
  static final List<String> ALL =
      List.of(
          CONFIG,
          LIST_CACHE,
          LISTS_GEN,
          PORTS,
          SOURCES_V4,
          SOURCES_V6,
          SEEN_V4,
          ADMISSION,
          ALLOW_V4,
          ALLOW_V6,
          DENY_V4,
          DENY_V6,
          COUNTERS);

  /** A list is a pair of tries, one per family. */
  private record CidrList(String v4, String v6) {
    String trieFor(Cidr cidr) {
      return cidr.isIpv4() ? v4 : v6;
    }
  }

  private static final CidrList ALLOW = new CidrList(ALLOW_V4, ALLOW_V6);
  private static final CidrList DENY = new CidrList(DENY_V4, DENY_V6);

  // mp_config.flags, as in config.h
  private static final int FLAG_ENABLED = 1;
  private static final int FLAG_RATE_LIMIT = 1 << 1;
  private static final int FLAG_SYN_GUARD = 1 << 2;
  private static final int FLAG_ALLOWLIST = 1 << 3;
  private static final int FLAG_DENYLIST = 1 << 4;
  private static final int FLAG_CLASSIFY = 1 << 5;

  private static final int CONFIG_SIZE = 8 + 3 * 24;

  /** Slots per bucket of a source table (MP_WAYS in maps.h). */
  static final int WAYS = 4;

  // struct mp_bucket_v4 / mp_bucket_v6 in maps.h
  private static final int BUCKET_V4_SIZE = WAYS * 8 + WAYS * 16;
  private static final int BUCKET_V6_SIZE = WAYS * 16 + WAYS * 4 + WAYS * 16;

  /**
   * mp_config.tick_ns: the kernel tick in nanoseconds, which the program multiplies its inlined
   * tick counter by to read the time (decision 0107); 0, if the tick cannot be read, makes it call
   * the coarse-clock helper instead.
   */
  static int tickNanos() {
    long tick = Libbpf.clockResolutionNanos(Libbpf.CLOCK_MONOTONIC_COARSE);
    return tick > 0 && tick <= Integer.MAX_VALUE ? (int) tick : 0;
  }

  private static final int CIDR_V4_KEY_SIZE = 8;
  private static final int CIDR_V6_KEY_SIZE = 20;
  private static final int COUNTER_VALUE_SIZE = 16;
  private static final int PORT_COUNT = 65536;

  private final Map<String, Integer> fds;
  private final boolean ownsFds;
  private final int cpus;

  private XdpMaps(Map<String, Integer> fds, boolean ownsFds) {
    this.fds = fds;
    this.ownsFds = ownsFds;
    this.cpus = Libbpf.possibleCpus();
  }

  /** The maps of a loaded object; the object owns the fds. */
  static XdpMaps of(Map<String, Integer> fds) {
    return new XdpMaps(Map.copyOf(fds), false);
  }

  /** Opens the maps pinned for an interface by an earlier `attach`. */
  public static XdpMaps openPinned(String iface) {
    XdpSupport.requireLibbpf();
    Path dir = BpfFilesystem.pinDirectory(iface);
    Map<String, Integer> fds = new HashMap<>();
    for (String name : ALL) {
      int fd = Libbpf.objGet(dir.resolve(name).toString());
      if (fd < 0) {
        fds.values().forEach(Libbpf::close);
        if (fd == -Errno.EPERM || fd == -Errno.EACCES) {
          throw new XdpUnavailableException(
              XdpUnavailableException.Reason.NOT_PERMITTED,
              "cannot open pinned map " + dir.resolve(name) + ": " + Errno.describe(fd));
        }
        throw new XdpException(
            "no XDP state pinned for interface "
                + iface
                + " (missing "
                + dir.resolve(name)
                + ": "
                + Errno.describe(fd)
                + "); attach first");
      }
      fds.put(name, fd);
    }
    return new XdpMaps(Map.copyOf(fds), true);
  }

  int fd(String map) {
    return fds.get(map);
  }

  // ---- configuration -------------------------------------------------------------------------

  /** Writes the whole configuration; the list flags follow whether the lists have entries. */
  public void configure(XdpConfig config) {
    configure(config, tickNanos());
  }

  /** As {@link #configure(XdpConfig)}, with the tick given (0: the program uses the helper). */
  void configure(XdpConfig config, int tickNanos) {
    int flags = 0;
    if (config.enabled()) {
      flags |= FLAG_ENABLED;
    }
    if (config.packets().isPresent()) {
      flags |= FLAG_RATE_LIMIT;
    }
    if (config.synGuard().isPresent()) {
      flags |= FLAG_SYN_GUARD;
    }
    if (config.classify()) {
      flags |= FLAG_CLASSIFY;
    }
    if (!isEmpty(ALLOW)) {
      flags |= FLAG_ALLOWLIST;
    }
    if (!isEmpty(DENY)) {
      flags |= FLAG_DENYLIST;
    }
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment value = arena.allocate(CONFIG_SIZE);
      value.set(JAVA_INT, 0, flags);
      value.set(JAVA_INT, 4, tickNanos);
      writeBudget(value, 8, config.packets());
      writeBudget(value, 32, config.synGuard().map(XdpConfig.SynGuard::synsPerSource));
      writeBudget(value, 56, config.synGuard().map(XdpConfig.SynGuard::newSources));
      update(CONFIG, intKey(arena, 0), value, "write the configuration");
      // Every list change ends here: a new generation invalidates the program's per-CPU cache
      // of list answers (lists.h). CLOCK_MONOTONIC is host-wide, so values from two processes
      // (the proxy and the CLI) never repeat.
      MemorySegment generation = arena.allocate(JAVA_LONG);
      generation.set(JAVA_LONG, 0, Math.max(1, System.nanoTime()));
      update(LISTS_GEN, intKey(arena, 0), generation, "start a new list generation");
    }
  }

  private static void writeBudget(MemorySegment value, long offset, Optional<Budget> budget) {
    budget.ifPresent(
        b -> {
          value.set(JAVA_INT, offset, (int) b.perSecond());
          value.set(JAVA_INT, offset + 4, (int) b.burst());
          value.set(JAVA_LONG, offset + 8, b.intervalNanos());
          value.set(JAVA_LONG, offset + 16, b.slackNanos());
        });
  }

  /** mp_config.tick_ns as written. */
  int configuredTickNanos() {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment value = arena.allocate(CONFIG_SIZE);
      lookup(CONFIG, intKey(arena, 0), value, "read the configuration");
      return value.get(JAVA_INT, 4);
    }
  }

  /** The configuration as the program sees it now. */
  public XdpConfig config() {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment value = arena.allocate(CONFIG_SIZE);
      lookup(CONFIG, intKey(arena, 0), value, "read the configuration");
      int flags = value.get(JAVA_INT, 0);
      Optional<Budget> packets =
          (flags & FLAG_RATE_LIMIT) != 0 ? Optional.of(readBudget(value, 8)) : Optional.empty();
      Optional<XdpConfig.SynGuard> guard =
          (flags & FLAG_SYN_GUARD) != 0
              ? Optional.of(new XdpConfig.SynGuard(readBudget(value, 32), readBudget(value, 56)))
              : Optional.empty();
      return new XdpConfig(
          (flags & FLAG_ENABLED) != 0, packets, guard, (flags & FLAG_CLASSIFY) != 0);
    }
  }

  private static Budget readBudget(MemorySegment value, long offset) {
    return new Budget(
        Integer.toUnsignedLong(value.get(JAVA_INT, offset)),
        Integer.toUnsignedLong(value.get(JAVA_INT, offset + 4)));
  }

  /** Protects a destination port for the given protocols (replacing what it had). */
  public void protect(int port, Set<Protocol> protocols) {
    checkPort(port);
    int bits = 0;
    for (Protocol p : protocols) {
      bits |= p.bit();
    }
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment value = arena.allocate(JAVA_INT);
      value.set(JAVA_INT, 0, bits);
      update(PORTS, intKey(arena, port), value, "protect port " + port);
    }
  }

  public void unprotect(int port) {
    protect(port, Set.of());
  }

  /** Every protected port and its protocols (65,536 lookups: meant for `stats`, not hot paths). */
  public Map<Integer, Set<Protocol>> protectedPorts() {
    Map<Integer, Set<Protocol>> ports = new TreeMap<>();
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment key = arena.allocate(JAVA_INT);
      MemorySegment value = arena.allocate(JAVA_INT);
      for (int port = 0; port < PORT_COUNT; port++) {
        key.set(JAVA_INT, 0, port);
        lookup(PORTS, key, value, "read protected ports");
        int bits = value.get(JAVA_INT, 0);
        if (bits != 0) {
          EnumSet<Protocol> set = EnumSet.noneOf(Protocol.class);
          for (Protocol p : Protocol.values()) {
            if ((bits & p.bit()) != 0) {
              set.add(p);
            }
          }
          ports.put(port, set);
        }
      }
    }
    return ports;
  }

  private static void checkPort(int port) {
    if (port < 0 || port >= PORT_COUNT) {
      throw new IllegalArgumentException("port must be 0..65535, got " + port);
    }
  }

  // ---- allow and deny lists ------------------------------------------------------------------

  /** Sources on the allow list pass protected ports without any limit. */
  public void allow(Cidr cidr) {
    addTo(ALLOW, cidr);
  }

  public void removeAllowed(Cidr cidr) {
    removeFrom(ALLOW, cidr);
  }

  public List<Cidr> allowList() {
    return list(ALLOW);
  }

  /** Sources on the deny list are dropped on protected ports (the allow list wins). */
  public void deny(Cidr cidr) {
    addTo(DENY, cidr);
  }

  public void removeDenied(Cidr cidr) {
    removeFrom(DENY, cidr);
  }

  public List<Cidr> denyList() {
    return list(DENY);
  }

  private void addTo(CidrList list, Cidr cidr) {
    String trie = list.trieFor(cidr);
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment value = arena.allocate(JAVA_INT);
      value.set(JAVA_INT, 0, 1);
      update(trie, cidrKey(arena, cidr), value, "add " + cidr + " to " + trie);
    }
    // Turn the lookup on only once the entry is there, so no packet sees a half-made list.
    configure(config());
  }

  private void removeFrom(CidrList list, Cidr cidr) {
    String trie = list.trieFor(cidr);
    try (Arena arena = Arena.ofConfined()) {
      int rc = Libbpf.mapDelete(fd(trie), cidrKey(arena, cidr));
      if (rc < 0 && rc != -Errno.ENOENT) {
        throw failure("remove " + cidr + " from " + trie, rc);
      }
    }
    configure(config());
  }

  private List<Cidr> list(CidrList list) {
    List<Cidr> out = new ArrayList<>();
    out.addAll(entries(list.v4(), CIDR_V4_KEY_SIZE));
    out.addAll(entries(list.v6(), CIDR_V6_KEY_SIZE));
    return out;
  }

  private List<Cidr> entries(String trie, int keySize) {
    List<Cidr> out = new ArrayList<>();
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment key = arena.allocate(keySize);
      MemorySegment next = arena.allocate(keySize);
      MemorySegment previous = MemorySegment.NULL;
      while (Libbpf.mapNextKey(fd(trie), previous, next) == 0) {
        out.add(
            Cidr.fromKey(next.asSlice(4, keySize - 4).toArray(JAVA_BYTE), next.get(JAVA_INT, 0)));
        MemorySegment.copy(next, 0, key, 0, keySize);
        previous = key;
      }
    }
    return out;
  }

  private boolean isEmpty(CidrList list) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment scratch = arena.allocate(CIDR_V6_KEY_SIZE);
      return Libbpf.mapNextKey(fd(list.v4()), MemorySegment.NULL, scratch) != 0
          && Libbpf.mapNextKey(fd(list.v6()), MemorySegment.NULL, scratch) != 0;
    }
  }

  private static MemorySegment cidrKey(Arena arena, Cidr cidr) {
    byte[] address = cidr.network().getAddress();
    MemorySegment key = arena.allocate(4 + address.length);
    key.set(JAVA_INT, 0, cidr.prefixLength());
    MemorySegment.copy(address, 0, key, JAVA_BYTE, 4, address.length);
    return key;
  }

  // ---- sources -------------------------------------------------------------------------------

  /** Buckets a source table needs to hold `maxSources` sources. */
  static int buckets(int maxSources) {
    return Math.max(1, (maxSources + WAYS - 1) / WAYS);
  }

  /** The bucket a source hashes to, exactly as table.h computes it. */
  static int bucketOf(byte[] address, int buckets) {
    ByteBuffer words = ByteBuffer.wrap(address).order(ByteOrder.nativeOrder());
    int hash = words.getInt(0);
    if (address.length == 16) {
      hash ^= words.getInt(4) ^ words.getInt(8) ^ words.getInt(12);
    }
    long mixed = Integer.toUnsignedLong(hash * 0x9E3779B1);
    return (int) ((mixed * Integer.toUnsignedLong(buckets)) >>> 32);
  }

  /** Whether a source currently has an entry in the rate-limit table. */
  public boolean tracks(InetAddress source) {
    byte[] address = source.getAddress();
    boolean v4 = address.length == 4;
    String table = v4 ? SOURCES_V4 : SOURCES_V6;
    int buckets = Libbpf.mapMaxEntries(fd(table));
    if (buckets <= 0) {
      throw failure("read the size of " + table, buckets);
    }
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment bucket = arena.allocate(v4 ? BUCKET_V4_SIZE : BUCKET_V6_SIZE, 8);
      lookup(table, intKey(arena, bucketOf(address, buckets)), bucket, "read " + table);
      MemorySegment key = MemorySegment.ofArray(address);
      for (int way = 0; way < WAYS; way++) {
        if (v4) {
          // tags[way]: a presence bit above the address as a native 32-bit load reads it
          long tag = 1L << 32 | Integer.toUnsignedLong(key.get(JAVA_INT_UNALIGNED, 0));
          if (bucket.get(JAVA_LONG, way * 8L) == tag) {
            return true;
          }
        } else if (bucket.get(JAVA_INT, 64 + way * 4L) != 0
            && MemorySegment.mismatch(bucket, way * 16L, way * 16L + 16, key, 0, 16) == -1) {
          return true;
        }
      }
      return false;
    }
  }

  // ---- counters ------------------------------------------------------------------------------

  /** Every counter, summed over the CPUs. */
  public Counters counters() {
    Map<Counter, Counters.Value> values = new EnumMap<>(Counter.class);
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment key = arena.allocate(JAVA_INT);
      MemorySegment perCpu = arena.allocate((long) COUNTER_VALUE_SIZE * cpus);
      for (Counter c : Counter.values()) {
        key.set(JAVA_INT, 0, c.index());
        lookup(COUNTERS, key, perCpu, "read counter " + c.metricName());
        long packets = 0;
        long bytes = 0;
        for (int cpu = 0; cpu < cpus; cpu++) {
          packets += perCpu.get(JAVA_LONG, (long) cpu * COUNTER_VALUE_SIZE);
          bytes += perCpu.get(JAVA_LONG, (long) cpu * COUNTER_VALUE_SIZE + 8);
        }
        values.put(c, new Counters.Value(packets, bytes));
      }
    }
    return new Counters(values);
  }

  // ---- plumbing ------------------------------------------------------------------------------

  private static MemorySegment intKey(Arena arena, int value) {
    MemorySegment key = arena.allocate(JAVA_INT);
    key.set(JAVA_INT, 0, value);
    return key;
  }

  private void update(String map, MemorySegment key, MemorySegment value, String what) {
    int rc = Libbpf.mapUpdate(fd(map), key, value, 0);
    if (rc < 0) {
      throw failure(what, rc);
    }
  }

  private void lookup(String map, MemorySegment key, MemorySegment value, String what) {
    int rc = Libbpf.mapLookup(fd(map), key, value);
    if (rc < 0) {
      throw failure(what, rc);
    }
  }

  private static XdpException failure(String what, int rc) {
    if (rc == -Errno.EPERM) {
      return new XdpUnavailableException(
          XdpUnavailableException.Reason.NOT_PERMITTED,
          "cannot " + what + ": " + Errno.describe(rc));
    }
    return new XdpException("cannot " + what + ": " + Errno.describe(rc));
  }

  @Override
  public void close() {
    if (ownsFds) {
      fds.values().forEach(Libbpf::close);
    }
  }
}
