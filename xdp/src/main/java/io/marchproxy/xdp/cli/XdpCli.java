package io.marchproxy.xdp.cli;

import io.marchproxy.xdp.AttachMode;
import io.marchproxy.xdp.Attachment;
import io.marchproxy.xdp.BpfFilesystem;
import io.marchproxy.xdp.Budget;
import io.marchproxy.xdp.Cidr;
import io.marchproxy.xdp.Counter;
import io.marchproxy.xdp.Counters;
import io.marchproxy.xdp.Protocol;
import io.marchproxy.xdp.XdpConfig;
import io.marchproxy.xdp.XdpException;
import io.marchproxy.xdp.XdpMaps;
import io.marchproxy.xdp.XdpProgram;
import io.marchproxy.xdp.XdpUnavailableException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * The operator's and the Envoy image's command line: attach, configure, stats, detach. Exit codes:
 * 0 done, 1 failed (message on stderr), 2 bad arguments (usage on stderr).
 */
public final class XdpCli {
  static final int OK = 0;
  static final int FAILED = 1;
  static final int USAGE = 2;

  static final String USAGE_TEXT =
      """
      usage: marchproxy-xdp <command> <iface> [options]

      commands:
        attach <iface>     load the program, pin its maps under /sys/fs/bpf/marchproxy/<iface>/
                           (reusing state already pinned there) and attach it; takes the
                           configure options too
          --mode native|generic   preferred mode (default native; falls back to generic and says so)
          --max-sources N         size of the per-source table (default 65536)
        configure <iface>  change the configuration of an attached program
        stats <iface>      print configuration, lists and counters  [--json]
        detach <iface>     detach the program and remove its pinned state

      configure options (attach and configure):
        --enable | --disable            switch the program on or off (attach enables by default)
        --rate RATE/s[:BURST]           per-source packet budget on protected ports
        --no-rate                       no per-source packet budget
        --syn-limit RATE/s[:BURST]      per-source SYN budget; turns the SYN guard on
        --new-sources RATE/s[:BURST]    global cap on new sources (default 10000/s:20000)
        --no-syn-guard                  SYN guard off
        --classify | --no-classify      payload protocol counters (default on)
        --protect PORT[/tcp|/udp]       protect a destination port (both protocols if none given)
        --unprotect PORT
        --allow CIDR | --remove-allow CIDR
        --deny CIDR  | --remove-deny CIDR

      exit status: 0 done, 1 failed, 2 bad arguments
      """;

  private final PrintStream out;
  private final PrintStream err;

  XdpCli(PrintStream out, PrintStream err) {
    this.out = out;
    this.err = err;
  }

  public static void main(String[] args) {
    System.exit(new XdpCli(System.out, System.err).run(args));
  }

  /** Bad arguments: exit 2 with the usage. */
  static final class UsageException extends RuntimeException {
    UsageException(String message) {
      super(message);
    }
  }

  /** The parsed configure options; empty fields leave the current value as it is. */
  record Changes(
      Optional<Boolean> enabled,
      Optional<Optional<Budget>> rate,
      Optional<Optional<Budget>> synLimit,
      Optional<Budget> newSources,
      Optional<Boolean> classify,
      Map<Integer, Set<Protocol>> protect,
      List<Integer> unprotect,
      List<Cidr> allow,
      List<Cidr> removeAllow,
      List<Cidr> deny,
      List<Cidr> removeDeny) {}

  int run(String[] args) {
    try {
      if (args.length == 0 || args[0].equals("-h") || args[0].equals("--help")) {
        (args.length == 0 ? err : out).print(USAGE_TEXT);
        return args.length == 0 ? USAGE : OK;
      }
      String command = args[0];
      if (args.length < 2 || args[1].startsWith("-")) {
        throw new UsageException(command + ": which interface?");
      }
      String iface = args[1];
      List<String> rest = List.of(args).subList(2, args.length);
      return switch (command) {
        case "attach" -> attach(iface, rest);
        case "configure" -> configure(iface, rest);
        case "stats" -> stats(iface, rest);
        case "detach" -> detach(iface, rest);
        default -> throw new UsageException("unknown command '" + command + "'");
      };
    } catch (UsageException | IllegalArgumentException e) {
      err.println("marchproxy-xdp: " + e.getMessage());
      err.print(USAGE_TEXT);
      return USAGE;
    } catch (XdpUnavailableException e) {
      err.println("marchproxy-xdp: XDP unavailable (" + e.reason() + "): " + e.getMessage());
      return FAILED;
    } catch (XdpException e) {
      err.println("marchproxy-xdp: " + e.getMessage());
      return FAILED;
    }
  }

  private int attach(String iface, List<String> args) {
    AttachMode mode = AttachMode.NATIVE;
    Optional<Integer> maxSources = Optional.empty();
    List<String> configureArgs = new ArrayList<>();
    for (int i = 0; i < args.size(); i++) {
      switch (args.get(i)) {
        case "--mode" ->
            mode =
                switch (value(args, ++i, "--mode")) {
                  case "native" -> AttachMode.NATIVE;
                  case "generic" -> AttachMode.GENERIC;
                  default -> throw new UsageException("--mode must be native or generic");
                };
        case "--max-sources" ->
            maxSources =
                Optional.of(positiveInt(value(args, ++i, "--max-sources"), "--max-sources"));
        default -> configureArgs.add(args.get(i));
      }
    }
    Changes changes = parseChanges(configureArgs);
    XdpProgram.LoadOptions options = XdpProgram.LoadOptions.pinnedFor(iface);
    if (maxSources.isPresent()) {
      options = options.withMaxSources(maxSources.get());
    }
    // A first attach starts enabled with classification on; a re-attach keeps what is pinned.
    boolean fresh = !Files.exists(BpfFilesystem.pinDirectory(iface).resolve("mp_config"));
    try (XdpProgram program = XdpProgram.load(options)) {
      XdpConfig current = program.maps().config();
      if (fresh) {
        current = current.withEnabled(true).withClassify(true);
      }
      apply(program.maps(), current, changes);
      Attachment a = program.attach(iface, mode);
      out.println(
          "attached to "
              + iface
              + " in "
              + a.mode().name().toLowerCase(Locale.ROOT)
              + " mode"
              + a.fallbackReason().map(r -> " (" + r + ")").orElse(""));
      a.fallbackReason()
          .ifPresent(r -> err.println("marchproxy-xdp: warning: " + r + "; using generic XDP"));
    }
    return OK;
  }

  private int configure(String iface, List<String> args) {
    Changes changes = parseChanges(args);
    try (XdpMaps maps = XdpMaps.openPinned(iface)) {
      apply(maps, maps.config(), changes);
      out.println("configured " + iface + ": " + describe(maps.config()));
    }
    return OK;
  }

  private int stats(String iface, List<String> args) {
    boolean json = false;
    for (String a : args) {
      if (a.equals("--json")) {
        json = true;
      } else {
        throw new UsageException("stats: unknown option " + a);
      }
    }
    try (XdpMaps maps = XdpMaps.openPinned(iface)) {
      Counters counters = maps.counters();
      Optional<AttachMode> mode = XdpProgram.attachedMode(iface);
      if (json) {
        out.println(json(iface, mode, counters));
        return OK;
      }
      out.println("interface  " + iface);
      out.println(
          "attached   "
              + mode.map(m -> m.name().toLowerCase(Locale.ROOT))
                  .orElse("no (or in another network namespace)"));
      out.println("config     " + describe(maps.config()));
      out.println("ports      " + describePorts(maps.protectedPorts()));
      out.println(
          "allow      "
              + maps.allowList().stream().map(Cidr::toString).collect(Collectors.joining(" ")));
      out.println(
          "deny       "
              + maps.denyList().stream().map(Cidr::toString).collect(Collectors.joining(" ")));
      out.printf("%-24s %14s %16s%n", "counter", "packets", "bytes");
      for (Counter c : Counter.values()) {
        out.printf("%-24s %14d %16d%n", c.metricName(), counters.packets(c), counters.bytes(c));
      }
      out.printf("%-24s %14d%n", "total", counters.totalPackets());
    }
    return OK;
  }

  private int detach(String iface, List<String> args) {
    if (!args.isEmpty()) {
      throw new UsageException("detach: unexpected " + args.getFirst());
    }
    boolean detached = XdpProgram.detach(iface);
    out.println(
        detached
            ? "detached from " + iface
            : "nothing attached to " + iface + "; pinned state removed");
    return OK;
  }

  // ---- options -------------------------------------------------------------------------------

  static Changes parseChanges(List<String> args) {
    Optional<Boolean> enabled = Optional.empty();
    Optional<Optional<Budget>> rate = Optional.empty();
    Optional<Optional<Budget>> synLimit = Optional.empty();
    Optional<Budget> newSources = Optional.empty();
    Optional<Boolean> classify = Optional.empty();
    Map<Integer, Set<Protocol>> protect = new java.util.TreeMap<>();
    List<Integer> unprotect = new ArrayList<>();
    List<Cidr> allow = new ArrayList<>();
    List<Cidr> removeAllow = new ArrayList<>();
    List<Cidr> deny = new ArrayList<>();
    List<Cidr> removeDeny = new ArrayList<>();
    for (int i = 0; i < args.size(); i++) {
      String opt = args.get(i);
      switch (opt) {
        case "--enable" -> enabled = Optional.of(true);
        case "--disable" -> enabled = Optional.of(false);
        case "--rate" -> rate = Optional.of(Optional.of(Budget.parse(value(args, ++i, opt))));
        case "--no-rate" -> rate = Optional.of(Optional.empty());
        case "--syn-limit" ->
            synLimit = Optional.of(Optional.of(Budget.parse(value(args, ++i, opt))));
        case "--new-sources" -> newSources = Optional.of(Budget.parse(value(args, ++i, opt)));
        case "--no-syn-guard" -> synLimit = Optional.of(Optional.empty());
        case "--classify" -> classify = Optional.of(true);
        case "--no-classify" -> classify = Optional.of(false);
        case "--protect" -> {
          String v = value(args, ++i, opt);
          String[] parts = v.split("/", 2);
          Set<Protocol> protocols =
              parts.length == 1
                  ? EnumSet.allOf(Protocol.class)
                  : switch (parts[1].toLowerCase(Locale.ROOT)) {
                    case "tcp" -> EnumSet.of(Protocol.TCP);
                    case "udp" -> EnumSet.of(Protocol.UDP);
                    default ->
                        throw new UsageException(
                            "--protect takes PORT, PORT/tcp or PORT/udp, got " + v);
                  };
          protect.merge(
              port(parts[0]),
              protocols,
              (a, b) -> {
                EnumSet<Protocol> both = EnumSet.copyOf(a);
                both.addAll(b);
                return both;
              });
        }
        case "--unprotect" -> unprotect.add(port(value(args, ++i, opt)));
        case "--allow" -> allow.add(Cidr.parse(value(args, ++i, opt)));
        case "--remove-allow" -> removeAllow.add(Cidr.parse(value(args, ++i, opt)));
        case "--deny" -> deny.add(Cidr.parse(value(args, ++i, opt)));
        case "--remove-deny" -> removeDeny.add(Cidr.parse(value(args, ++i, opt)));
        default -> throw new UsageException("unknown option " + opt);
      }
    }
    if (newSources.isPresent() && synLimit.isEmpty()) {
      throw new UsageException("--new-sources is part of the SYN guard: give --syn-limit too");
    }
    return new Changes(
        enabled,
        rate,
        synLimit,
        newSources,
        classify,
        protect,
        unprotect,
        allow,
        removeAllow,
        deny,
        removeDeny);
  }

  static final Budget DEFAULT_NEW_SOURCES = new Budget(10_000, 20_000);

  private static void apply(XdpMaps maps, XdpConfig current, Changes c) {
    XdpConfig next = current;
    if (c.enabled().isPresent()) {
      next = next.withEnabled(c.enabled().get());
    }
    if (c.rate().isPresent()) {
      next = next.withPackets(c.rate().get().orElse(null));
    }
    if (c.synLimit().isPresent()) {
      Optional<Budget> syn = c.synLimit().get();
      next =
          next.withSynGuard(
              syn.map(s -> new XdpConfig.SynGuard(s, c.newSources().orElse(DEFAULT_NEW_SOURCES)))
                  .orElse(null));
    }
    if (c.classify().isPresent()) {
      next = next.withClassify(c.classify().get());
    }
    // Lists and ports first, so a packet never sees the new limits with the old exemptions.
    c.allow().forEach(maps::allow);
    c.removeAllow().forEach(maps::removeAllowed);
    c.deny().forEach(maps::deny);
    c.removeDeny().forEach(maps::removeDenied);
    c.protect().forEach(maps::protect);
    c.unprotect().forEach(maps::unprotect);
    maps.configure(next);
  }

  private static String value(List<String> args, int i, String option) {
    if (i >= args.size()) {
      throw new UsageException(option + " needs a value");
    }
    return args.get(i);
  }

  private static int port(String text) {
    try {
      int p = Integer.parseInt(text);
      if (p < 1 || p > 65535) {
        throw new UsageException("port must be 1..65535, got " + text);
      }
      return p;
    } catch (NumberFormatException e) {
      throw new UsageException("not a port: '" + text + "'");
    }
  }

  private static int positiveInt(String text, String option) {
    try {
      int n = Integer.parseInt(text);
      if (n < 1) {
        throw new UsageException(option + " must be at least 1");
      }
      return n;
    } catch (NumberFormatException e) {
      throw new UsageException(option + " takes a number, got '" + text + "'");
    }
  }

  // ---- output --------------------------------------------------------------------------------

  static String describe(XdpConfig c) {
    return (c.enabled() ? "enabled" : "disabled")
        + " rate="
        + c.packets().map(Budget::toString).orElse("off")
        + " syn-guard="
        + c.synGuard()
            .map(g -> "syn " + g.synsPerSource() + ", new-sources " + g.newSources())
            .orElse("off")
        + " classify="
        + (c.classify() ? "on" : "off");
  }

  private static String describePorts(Map<Integer, Set<Protocol>> ports) {
    return ports.entrySet().stream()
        .flatMap(
            e ->
                e.getValue().stream()
                    .map(p -> e.getKey() + "/" + p.name().toLowerCase(Locale.ROOT)))
        .collect(Collectors.joining(" "));
  }

  private static String json(String iface, Optional<AttachMode> mode, Counters counters) {
    StringBuilder sb = new StringBuilder();
    sb.append("{\"interface\":\"").append(iface).append("\",\"attached\":");
    sb.append(mode.map(m -> "\"" + m.name().toLowerCase(Locale.ROOT) + "\"").orElse("null"));
    sb.append(",\"counters\":{");
    String body =
        java.util.Arrays.stream(Counter.values())
            .map(
                c ->
                    "\""
                        + c.metricName()
                        + "\":{\"packets\":"
                        + counters.packets(c)
                        + ",\"bytes\":"
                        + counters.bytes(c)
                        + "}")
            .collect(Collectors.joining(","));
    sb.append(body).append("}}");
    return sb.toString();
  }
}
