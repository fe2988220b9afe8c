package io.marchproxy.wasm.image;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.Yaml;

/**
 * What can be checked here of the image recipe (Docker cannot run on this machine): the entrypoint
 * passes shellcheck, the Dockerfile builds the filters and the XDP program from source onto the
 * official Envoy image, and the compose file wires the whole stack.
 */
class ImageRecipeTest {

  @Test
  void shellScriptsPassShellcheck() throws Exception {
    var result =
        Entrypoint.run(
            new ProcessBuilder(
                "shellcheck",
                "--severity=style",
                Entrypoint.IMAGE.resolve("entrypoint.sh").toString(),
                Entrypoint.REPO.resolve("wasm/build-filters.sh").toString()));

    assertThat(result.exitCode()).as(result.stdout() + result.stderr()).isZero();
  }

  @Test
  void dockerfileBuildsFiltersAndXdpFromSourceOntoTheOfficialEnvoyImage() throws Exception {
    String dockerfile = Files.readString(Entrypoint.IMAGE.resolve("Dockerfile"));

    assertThat(dockerfile)
        .contains("ARG ENVOY_IMAGE=envoyproxy/envoy:v1.")
        .contains("FROM ${ENVOY_IMAGE}")
        .contains("AS build")
        .contains("wasm/debian-packages.txt")
        .contains("xdp/debian-packages.txt")
        .contains("COPY wasm wasm")
        .contains("COPY xdp xdp")
        .contains("-pl wasm,xdp")
        .contains("COPY --from=build /out/wasm/ /etc/envoy/wasm/")
        .contains("/opt/marchproxy/xdp/xdp.jar")
        .contains("libbpf.so.1")
        .contains("COPY envoy-image/bootstrap.json.tmpl envoy-image/xds-tls.json.tmpl /etc/envoy/")
        .contains("ENTRYPOINT [\"/usr/local/bin/marchproxy-entrypoint\"]")
        .contains("EXPOSE 10000 9901");
    assertThat(Files.exists(Entrypoint.IMAGE.resolve("Dockerfile.dockerignore"))).isTrue();
  }

  @Test
  @SuppressWarnings("unchecked")
  void composeRunsTheWholeStackWithEnvoy() throws Exception {
    Map<String, Object> compose;
    try (var in = Files.newInputStream(Entrypoint.IMAGE.resolve("docker-compose.yml"))) {
      compose = new Yaml().load(in);
    }
    var services = (Map<String, Map<String, Object>>) compose.get("services");

    assertThat(services).containsKeys("postgres", "functions", "xds-service", "envoy");
    var envoy = services.get("envoy");
    var build = (Map<String, Object>) envoy.get("build");
    assertThat(build)
        .containsEntry("context", "..")
        .containsEntry("dockerfile", "envoy-image/Dockerfile");
    var environment = (Map<String, Object>) envoy.get("environment");
    assertThat(environment)
        .containsEntry("MARCHPROXY_API_URL", "http://functions:8000")
        .containsEntry("MARCHPROXY_XDS_HOST", "xds-service")
        .containsEntry("MARCHPROXY_XDS_PORT", "18000")
        .containsKeys("MARCHPROXY_CLUSTER", "MARCHPROXY_CLUSTER_KEY", "XDP_INTERFACE");
    assertThat((List<String>) envoy.get("ports")).contains("10000:10000", "127.0.0.1:9901:9901");
    assertThat((List<String>) envoy.get("depends_on")).contains("functions", "xds-service");
    for (String app : List.of("functions", "xds-service")) {
      assertThat((Map<String, Object>) services.get(app).get("environment"))
          .containsEntry("DATASOURCES_DEFAULT_URL", "jdbc:postgresql://postgres:5432/marchproxy");
    }
  }
}
