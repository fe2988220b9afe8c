package io.marchproxy.wasm.image;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** Runs envoy-image/entrypoint.sh (the real script, with bash) and captures what it prints. */
final class Entrypoint {
  static final Path REPO = Path.of(System.getProperty("marchproxy.repo.root", "..")).normalize();
  static final Path IMAGE = REPO.resolve("envoy-image");

  record Result(int exitCode, String stdout, String stderr) {}

  private Entrypoint() {}

  /** {@code entrypoint.sh render} with only the given settings (plus the template paths). */
  static Result render(Map<String, String> settings) throws IOException, InterruptedException {
    var builder =
        new ProcessBuilder(List.of("bash", IMAGE.resolve("entrypoint.sh").toString(), "render"));
    var env = builder.environment();
    env.keySet().removeIf(name -> name.startsWith("MARCHPROXY_") || name.startsWith("XDP_"));
    env.put("HOSTNAME", "edge-7");
    env.put("MARCHPROXY_BOOTSTRAP_TEMPLATE", IMAGE.resolve("bootstrap.json.tmpl").toString());
    env.put("MARCHPROXY_XDS_TLS_TEMPLATE", IMAGE.resolve("xds-tls.json.tmpl").toString());
    env.putAll(settings);
    return run(builder);
  }

  static Result run(ProcessBuilder builder) throws IOException, InterruptedException {
    Process process = builder.start();
    process.getOutputStream().close();
    var stdout = process.getInputStream().readAllBytes();
    var stderr = process.getErrorStream().readAllBytes();
    if (!process.waitFor(60, TimeUnit.SECONDS)) {
      process.destroyForcibly();
      throw new IllegalStateException("timed out: " + builder.command());
    }
    return new Result(
        process.exitValue(),
        new String(stdout, StandardCharsets.UTF_8),
        new String(stderr, StandardCharsets.UTF_8));
  }
}
