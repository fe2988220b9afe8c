package io.marchproxy.xdp;

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
 * Two network namespaces this test creates, joined by a veth pair: "client" (10.77.0.1 and
 * 10.77.0.3) and "server" (10.77.0.2). Names carry a random suffix; {@link #close()} deletes both
 * namespaces, which also removes the veth pair and anything attached to it.
 */
public final class TestNamespaces implements AutoCloseable {
  public static final String SERVER_ADDRESS = "10.77.0.2";
  public static final String CLIENT_ADDRESS = "10.77.0.1";
  public static final String SECOND_CLIENT_ADDRESS = "10.77.0.3";
  private static final int CLONE_NEWNET = 0x40000000;
  private static final int O_RDONLY_CLOEXEC = 0x80000;

  public final String clientNamespace;
  public final String serverNamespace;
  public final String clientIface;
  public final String serverIface;
  private final List<String> created = new ArrayList<>();

  public TestNamespaces() throws IOException, InterruptedException {
    String suffix = HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextInt()).substring(2);
    clientNamespace = "mp-xdp-c-" + suffix;
    serverNamespace = "mp-xdp-s-" + suffix;
    clientIface = "mpc" + suffix;
    serverIface = "mps" + suffix;
    String clientMac = "02:00:00:77:00:01";
    String serverMac = "02:00:00:77:00:02";
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
      ip("-n", clientNamespace, "addr", "add", SECOND_CLIENT_ADDRESS + "/24", "dev", clientIface);
      ip("-n", serverNamespace, "addr", "add", SERVER_ADDRESS + "/24", "dev", serverIface);
      for (String ns : List.of(clientNamespace, serverNamespace)) {
        ip("-n", ns, "link", "set", "lo", "up");
      }
      ip("-n", clientNamespace, "link", "set", clientIface, "up");
      ip("-n", serverNamespace, "link", "set", serverIface, "up");
      // Static neighbours: no ARP resolution queue to drop the first packets of a burst.
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
      ip(
          "-n",
          serverNamespace,
          "neigh",
          "replace",
          SECOND_CLIENT_ADDRESS,
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

  /** Threads that join the namespace before they run anything (e.g. a server's event loops). */
  public static ThreadFactory threadsIn(String namespace) {
    return r ->
        Thread.ofPlatform()
            .name("in-" + namespace)
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
        Thread.ofPlatform()
            .name("netns-" + namespace)
            .start(
                () -> {
                  try {
                    enter(namespace);
                    result.set(work.call());
                  } catch (Exception e) {
                    failure.set(e);
                  } catch (Throwable e) {
                    failure.set(new RuntimeException(e));
                  }
                });
    // The thread ends with the work, so the namespace never leaks into another task.
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
