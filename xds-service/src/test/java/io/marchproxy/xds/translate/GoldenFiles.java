package io.marchproxy.xds.translate;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.protobuf.util.JsonFormat;
import io.marchproxy.core.config.ClusterConfig;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.yaml.snakeyaml.DumperOptions;
import org.yaml.snakeyaml.Yaml;

/**
 * The translator's golden files: {@code translate/in/<case>.json} (cluster config documents, read
 * the way xds-service reads a revision) and {@code translate/out/<case>.<kind>.yaml} (the
 * translated resources as proto JSON, shown as YAML).
 */
final class GoldenFiles {

  /** Source folders, not target/: with -Dgolden.update=true the test rewrites these. */
  static final Path ROOT = Path.of("src/test/resources/translate");

  static final Path IN = ROOT.resolve("in");

  /**
   * {@code l7/<case>.json}: for a case whose envoy output carries the WASM filters, the material
   * the document does not (fixed fake JWT secrets, a license, code hashes). Test material only.
   */
  static final Path L7 = ROOT.resolve("l7");

  static final Path OUT = ROOT.resolve("out");
  static final List<String> KINDS = List.of("envoy", "l4", "grpc");

  private static final JsonFormat.Printer PRINTER =
      JsonFormat.printer().usingTypeRegistry(PackedTypes.REGISTRY);
  private static final ObjectMapper JSON = new ObjectMapper();

  private GoldenFiles() {}

  static boolean updating() {
    return Boolean.getBoolean("golden.update");
  }

  static List<String> cases() {
    try (Stream<Path> files = Files.list(IN)) {
      return files
          .map(p -> p.getFileName().toString())
          .filter(n -> n.endsWith(".json"))
          .map(n -> n.substring(0, n.length() - ".json".length()))
          .sorted()
          .toList();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static ClusterConfig document(String name) {
    try {
      return io.micronaut.serde.ObjectMapper.getDefault()
          .readValue(Files.readString(IN.resolve(name + ".json")), ClusterConfig.class);
    } catch (IOException e) {
      throw new UncheckedIOException("unreadable " + name + ".json", e);
    }
  }

  /** The data plane a case is translated for: envoy gets the WASM filters when l7/ has material. */
  static DataPlane plane(String name, String kind) {
    DataPlane plane = DataPlane.of(kind);
    if (plane instanceof DataPlane.Envoy envoy) {
      return material(name)
          .map(m -> (DataPlane) envoy.withL7Filters(WasmFilters.of(m)))
          .orElse(plane);
    }
    return plane;
  }

  static java.util.Optional<WasmFilters.Material> material(String name) {
    Path file = L7.resolve(name + ".json");
    if (!Files.exists(file)) {
      return java.util.Optional.empty();
    }
    try {
      var tree = JSON.readTree(file.toFile());
      Map<java.util.UUID, byte[]> secrets = new LinkedHashMap<>();
      tree.path("jwtSecrets")
          .properties()
          .forEach(
              e ->
                  secrets.put(
                      java.util.UUID.fromString(e.getKey()),
                      e.getValue().asText().getBytes(java.nio.charset.StandardCharsets.UTF_8)));
      var license = tree.path("license");
      List<String> features = new ArrayList<>();
      license.path("features").forEach(f -> features.add(f.asText()));
      Map<String, String> code = new LinkedHashMap<>();
      tree.path("codeSha256")
          .properties()
          .forEach(e -> code.put(e.getKey(), e.getValue().asText()));
      return java.util.Optional.of(
          new WasmFilters.Material(
              secrets,
              new WasmFilters.InstalledLicense(
                  license.path("edition").asText(),
                  features,
                  license.has("featuresUntil") ? license.path("featuresUntil").asLong() : null),
              code));
    } catch (IOException e) {
      throw new UncheckedIOException("unreadable l7/" + name + ".json", e);
    }
  }

  static Path output(String name, String kind) {
    return OUT.resolve(name + "." + kind + ".yaml");
  }

  /** The resources by type, each resource printed as proto JSON and then shown as YAML. */
  static String yaml(EnvoyResources resources) {
    Map<String, Object> doc = new LinkedHashMap<>();
    doc.put("listeners", tree(resources.listeners()));
    doc.put("routes", tree(resources.routes()));
    doc.put("clusters", tree(resources.clusters()));
    doc.put("endpoints", tree(resources.endpoints()));
    doc.put("secrets", tree(resources.secrets()));
    DumperOptions options = new DumperOptions();
    options.setDefaultFlowStyle(DumperOptions.FlowStyle.BLOCK);
    options.setIndicatorIndent(2);
    options.setIndentWithIndicator(true);
    options.setWidth(200);
    options.setSplitLines(false);
    return new Yaml(options).dump(doc);
  }

  private static List<Object> tree(List<? extends Message> messages) {
    List<Object> out = new ArrayList<>();
    for (Message m : messages) {
      try {
        out.add(JSON.readValue(PRINTER.print(m), LinkedHashMap.class));
      } catch (InvalidProtocolBufferException e) {
        throw new IllegalStateException("a packed type is missing from PackedTypes", e);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    return out;
  }
}
