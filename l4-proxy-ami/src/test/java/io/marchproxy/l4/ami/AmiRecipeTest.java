package io.marchproxy.l4.ami;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.Yaml;

/**
 * The AMI recipe, checked as rendered files (Packer, cloud-init and EC2 cannot run here): the user
 * data renders completely and is valid cloud-config, the units point at what the install script
 * installs, every Packer source exists and every variable is declared, scripts parse.
 */
class AmiRecipeTest {

  static final Path AMI =
      Path.of(System.getProperty("marchproxy.root", "..")).resolve("l4-proxy-ami/ami");
  static final Pattern PLACEHOLDER = Pattern.compile("\\$\\{([a-z_]+)}");

  static final Map<String, String> VALUES =
      Map.of(
          "api_url", "https://api.marchproxy.example.com",
          "xds_address", "xds.internal.example.com:18000",
          "xds_tls", "true",
          "region", "eu-west-1",
          "admin_port", "8082",
          "drain_seconds", "30",
          "cluster_key_secret_arn",
              "arn:aws:secretsmanager:eu-west-1:123456789012:secret:marchproxy/edge-key-AbCdEf");

  /** Terraform templatefile's ${name} substitution; an unknown or missing name is an error. */
  static String render(String template, Map<String, String> values) {
    Matcher m = PLACEHOLDER.matcher(template);
    StringBuilder out = new StringBuilder();
    while (m.find()) {
      String v = values.get(m.group(1));
      if (v == null) {
        throw new IllegalArgumentException("no value for ${" + m.group(1) + "}");
      }
      m.appendReplacement(out, Matcher.quoteReplacement(v));
    }
    m.appendTail(out);
    return out.toString();
  }

  static String read(String path) throws IOException {
    return Files.readString(AMI.resolve(path));
  }

  /** A systemd unit as section → key → values (keys may repeat). */
  static Map<String, Map<String, List<String>>> unit(String path) throws IOException {
    Map<String, Map<String, List<String>>> out = new LinkedHashMap<>();
    String section = null;
    for (String line : read(path).lines().toList()) {
      line = line.strip();
      if (line.isEmpty() || line.startsWith("#")) {
        continue;
      }
      if (line.startsWith("[")) {
        section = line.substring(1, line.length() - 1);
        out.put(section, new LinkedHashMap<>());
      } else {
        int eq = line.indexOf('=');
        assertThat(eq).as("key=value in %s: %s", path, line).isPositive();
        out.get(section)
            .computeIfAbsent(line.substring(0, eq), k -> new ArrayList<>())
            .add(line.substring(eq + 1));
      }
    }
    return out;
  }

  @Test
  @SuppressWarnings("unchecked")
  void theUserDataRendersToCloudConfigWithEverySettingAndNoSecret() throws IOException {
    String template = read("cloud-init/user-data.yaml");
    Set<String> names = new TreeSet<>();
    PLACEHOLDER.matcher(template).results().forEach(r -> names.add(r.group(1)));
    assertThat(names).isEqualTo(new TreeSet<>(VALUES.keySet()));

    String rendered = render(template, VALUES);
    assertThat(rendered).startsWith("#cloud-config\n").doesNotContain("${");
    Map<String, Object> doc = new Yaml().load(rendered);
    var files = (List<Map<String, Object>>) doc.get("write_files");
    var env =
        files.stream()
            .filter(f -> f.get("path").equals("/etc/marchproxy/l4.env"))
            .findFirst()
            .orElseThrow();
    assertThat(env.get("permissions")).isEqualTo("0640");
    Map<String, String> vars = new LinkedHashMap<>();
    for (String line : ((String) env.get("content")).lines().toList()) {
      vars.put(line.substring(0, line.indexOf('=')), line.substring(line.indexOf('=') + 1));
    }
    assertThat(vars)
        .containsEntry("MARCHPROXY_XDS_ADDRESS", "xds.internal.example.com:18000")
        .containsEntry("MARCHPROXY_CLUSTER_KEY_SECRET_ARN", VALUES.get("cluster_key_secret_arn"))
        .containsEntry("AWS_REGION", "eu-west-1")
        .doesNotContainKey("MARCHPROXY_CLUSTER_KEY");
    assertThat(vars.values()).allSatisfy(v -> assertThat(v).isNotBlank());
    var runcmd = (List<List<String>>) doc.get("runcmd");
    assertThat(runcmd)
        .contains(
            List.of(
                "systemctl",
                "enable",
                "--now",
                "marchproxy-l4-key.service",
                "marchproxy-l4.service"));
  }

  @Test
  void renderingRefusesAMissingValue() {
    assertThatThrownBy(() -> render("x=${nope}", VALUES)).hasMessageContaining("${nope}");
  }

  @Test
  void theProxyUnitRunsTheInstalledJarAsItsOwnUserAndOutlastsTheDrain() throws IOException {
    var u = unit("systemd/marchproxy-l4.service");
    String install = read("scripts/install.sh");
    var service = u.get("Service");
    String exec = service.get("ExecStart").getFirst();
    assertThat(exec)
        .contains("-jar /opt/marchproxy/l4-proxy/l4-proxy.jar")
        .contains("--enable-native-access=ALL-UNNAMED");
    assertThat(install)
        .contains("/opt/marchproxy/l4-proxy/l4-proxy.jar")
        .contains("useradd --system")
        .contains("/usr/lib/jvm/temurin-25-jdk");
    assertThat(exec.split(" ")[0]).startsWith("/usr/lib/jvm/temurin-25-jdk/");
    assertThat(service.get("User")).containsExactly("marchproxy");
    assertThat(service.get("EnvironmentFile")).contains("/etc/marchproxy/l4.env");
    assertThat(service.get("Environment"))
        .contains("MARCHPROXY_CLUSTER_KEY_FILE=/etc/marchproxy/cluster-key");
    assertThat(service.get("KillSignal")).containsExactly("SIGTERM");
    // systemd must not kill the proxy before its drain (30 s by default) is over
    assertThat(Integer.parseInt(service.get("TimeoutStopSec").getFirst()))
        .isGreaterThan(Integer.parseInt(VALUES.get("drain_seconds")));
    assertThat(service.get("ReadWritePaths")).containsExactly("/var/lib/marchproxy-l4");
    // Low ports without root, and the XDP fast path when an interface is configured.
    assertThat(service.get("AmbientCapabilities").getFirst().split(" "))
        .containsExactlyInAnyOrder(
            "CAP_NET_BIND_SERVICE", "CAP_BPF", "CAP_NET_ADMIN", "CAP_PERFMON");
    assertThat(service.get("CapabilityBoundingSet")).isEqualTo(service.get("AmbientCapabilities"));
    assertThat(u.get("Unit").get("Requires")).containsExactly("marchproxy-l4-key.service");
    assertThat(u.get("Install").get("WantedBy")).containsExactly("multi-user.target");
  }

  @Test
  void theKeyUnitFetchesFromSecretsManagerIntoTheFileTheProxyReads() throws IOException {
    var u = unit("systemd/marchproxy-l4-key.service");
    assertThat(u.get("Service").get("Type")).containsExactly("oneshot");
    String exec = u.get("Service").get("ExecStart").getFirst();
    assertThat(read("scripts/install.sh")).contains(exec);
    String fetch = read("scripts/fetch-cluster-key.sh");
    assertThat(fetch)
        .contains("aws secretsmanager get-secret-value")
        .contains("--secret-id \"$MARCHPROXY_CLUSTER_KEY_SECRET_ARN\"")
        .contains("chmod 0400")
        .contains("/etc/marchproxy/cluster-key");
  }

  @Test
  void everyPackerSourceExistsAndEveryVariableIsDeclared() throws IOException {
    String hcl = read("packer/l4-proxy.pkr.hcl");
    Set<String> declared = new TreeSet<>();
    Pattern.compile("variable \"([a-z_]+)\"")
        .matcher(hcl)
        .results()
        .forEach(r -> declared.add(r.group(1)));
    Set<String> used = new TreeSet<>();
    Pattern.compile("var\\.([a-z_]+)").matcher(hcl).results().forEach(r -> used.add(r.group(1)));
    assertThat(declared).containsAll(used);
    Matcher src =
        Pattern.compile("source\\s+=\\s+\"\\$\\{path\\.root}/\\.\\./([^\"]+)\"").matcher(hcl);
    int sources = 0;
    while (src.find()) {
      sources++;
      assertThat(AMI.resolve(src.group(1))).as("Packer uploads %s", src.group(1)).isRegularFile();
    }
    assertThat(sources).isEqualTo(3);
    assertThat(hcl).contains("script          = \"${path.root}/../scripts/install.sh\"");
    // the build output Packer uploads is what the module's build produces
    assertThat(hcl)
        .contains("${var.build_dir}/l4-proxy.jar")
        .contains("default     = \"../../target\"");
    assertThat(read("../pom.xml")).contains("<finalName>l4-proxy</finalName>");
  }

  @Test
  void theScriptsParse() throws Exception {
    for (String script : List.of("scripts/install.sh", "scripts/fetch-cluster-key.sh")) {
      Process p =
          new ProcessBuilder("sh", "-n", AMI.resolve(script).toString())
              .redirectErrorStream(true)
              .start();
      String out = new String(p.getInputStream().readAllBytes());
      assertThat(p.waitFor()).as("sh -n %s: %s", script, out).isZero();
      assertThat(Files.isExecutable(AMI.resolve(script))).isTrue();
    }
  }
}
