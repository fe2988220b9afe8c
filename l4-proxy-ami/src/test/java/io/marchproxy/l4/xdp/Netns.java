package io.marchproxy.l4.xdp;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.invoke.MethodHandle;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Two network namespaces the test creates, joined by a veth pair: "client" (10.78.0.1) and "server"
 * (10.78.0.2), the XDP program going on the server's end. The same as the xdp module's
 * TestNamespaces (its tests do not ship as a jar). {@link #close()} deletes both namespaces (and
 * with them the veth pair and what is attached to it).
 */
public final class Netns implements AutoCloseable {
  public static final String SERVER_ADDRESS = "10.78.0.2";
  public static final String CLIENT_ADDRESS = "10.78.0.1";
  private static final int CLONE_NEWNET = 0x40000000;
  private static final int O_RDONLY_CLOEXEC = 0x80000;

  public final String clientNamespace;
  public final String serverNamespace;
  public final String clientIface;
  public final String serverIface;
  private final List<String> created = new ArrayList<>();

  public Netns() throws IOException, InterruptedException {
    String suffix = HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextInt()).substring(2);
    clientNamespace = "mp-l4x-c-" + suffix;
    serverNamespace = "mp-l4x-s-" + suffix;
    clientIface = "l4c" + suffix;
    serverIface = "l4s" + suffix;
    String clientMac = "02:00:00:78:00:01";
    String serverMac = "02:00:00:78:00:02";
    try {
      ip("netns", "add", clientNamespace);
      created.add(clientNamespace);
      ip("netns", "add", serverNamespace);
      created.add(serverNamespace);
      ip(
          "link",
          "add",
          clientIface,
          "address",
          clientMac,
          "netns",
          clientNamespace,
          "type",
          "veth",
          "peer",
          "name",
          serverIface,
          "address",
          serverMac,
          "netns",
          serverNamespace);
      ip("-n", clientNamespace, "addr", "add", CLIENT_ADDRESS + "/24", "dev", clientIface);
      ip("-n", serverNamespace, "addr", "add", SERVER_ADDRESS + "/24", "dev", serverIface);
      ip("-n", clientNamespace, "link", "set", clientIface, "up");
      ip("-n", serverNamespace, "link", "set", serverIface, "up");
      ip(
          "-n",
          clientNamespace,
          "neigh",
          "replace",
          SERVER_ADDRESS,
          "lladdr",
          serverMac,
          "dev",
          clientIface,
          "nud",
          "permanent");
      ip(
          "-n",
          serverNamespace,
          "neigh",
          "replace",
          CLIENT_ADDRESS,
          "lladdr",
          clientMac,
          "dev",
          serverIface,
          "nud",
          "permanent");
    } catch (IOException | InterruptedException | RuntimeException e) {
      close();
      throw e;
    }
  }

  static void ip(String... args) throws IOException, InterruptedException {
    List<String> command = new ArrayList<>();
    command.add("ip");
    command.addAll(List.of(args));
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    if (!p.waitFor(20, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new IOException("timed out: " + command);
    }
    String output = new String(p.getInputStream().readAllBytes());
    if (p.exitValue() != 0) {
      throw new IOException(command + " failed: " + output);
    }
  }

  /** Threads that join the namespace before they run anything. */
  public static ThreadFactory threadsIn(String namespace) {
    return r ->
        Thread.ofPlatform()
            .name("l4-xdp-" + namespace)
            .unstarted(
                () -> {
                  try {
                    enter(namespace);
                  } catch (Throwable e) {
                    throw new IllegalStateException("cannot join " + namespace, e);
                  }
                  r.run();
                });
  }

  /** Runs `work` on a fresh platform thread that has joined the namespace, and waits for it. */
  public static <T> T inside(String namespace, Callable<T> work) throws Exception {
    AtomicReference<T> result = new AtomicReference<>();
    AtomicReference<Exception> failure = new AtomicReference<>();
    Thread t =
        threadsIn(namespace)
            .newThread(
                () -> {
                  try {
                    result.set(work.call());
                  } catch (Exception e) {
                    failure.set(e);
                  }
                });
    t.start();
    t.join();
    if (failure.get() != null) {
      throw failure.get();
    }
    return result.get();
  }

  private static void enter(String namespace) throws Throwable {
    Linker linker = Linker.nativeLinker();
    MethodHandle open =
        linker.downcallHandle(
            linker.defaultLookup().find("open").orElseThrow(),
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
    MethodHandle setns =
        linker.downcallHandle(
            linker.defaultLookup().find("setns").orElseThrow(),
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT));
    MethodHandle close =
        linker.downcallHandle(
            linker.defaultLookup().find("close").orElseThrow(),
            FunctionDescriptor.of(JAVA_INT, JAVA_INT));
    try (Arena arena = Arena.ofConfined()) {
      int fd =
          (int) open.invokeExact(arena.allocateFrom("/run/netns/" + namespace), O_RDONLY_CLOEXEC);
      if (fd < 0) {
        throw new IllegalStateException("cannot open network namespace " + namespace);
      }
      int rc = (int) setns.invokeExact(fd, CLONE_NEWNET);
      int ignored = (int) close.invokeExact(fd);
      if (rc != 0) {
        throw new IllegalStateException("setns into " + namespace + " failed");
      }
    }
  }

  @Override
  public void close() {
    for (String ns : created.reversed()) {
      try {
        ip("netns", "del", ns);
      } catch (IOException | InterruptedException e) {
        System.err.println("could not delete network namespace " + ns + ": " + e.getMessage());
      }
    }
    created.clear();
  }
}
