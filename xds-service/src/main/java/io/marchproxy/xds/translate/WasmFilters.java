package io.marchproxy.xds.translate;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.StringValue;
import io.envoyproxy.envoy.config.core.v3.AsyncDataSource;
import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.extensions.filters.http.wasm.v3.Wasm;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.envoyproxy.envoy.extensions.wasm.v3.EnvironmentVariables;
import io.envoyproxy.envoy.extensions.wasm.v3.FailurePolicy;
import io.envoyproxy.envoy.extensions.wasm.v3.PluginConfig;
import io.envoyproxy.envoy.extensions.wasm.v3.VmConfig;
import io.marchproxy.core.config.ClusterConfig;
import io.marchproxy.core.config.RouteSpec;
import io.marchproxy.core.config.ServiceSpec;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.UUID;
import java.util.regex.Pattern;

/**
 * MarchProxy's three WASM filters (docs/wasm.md) as Envoy HTTP filters, from a cluster config
 * document and the material the document does not carry (opened JWT secrets, the installed license,
 * the filters' code hashes). Pure: the same inputs give byte-identical filters, whatever order the
 * document's lists are in.
 *
 * <p>The chain, before the router:
 *
 * <ol>
 *   <li>{@code marchproxy.metrics}: every request.
 *   <li>{@code marchproxy.auth.<route>}: one per route whose {@code auth.required} is true, holding
 *       the credentials of that route's backends and its exempt paths; disabled in the connection
 *       manager and enabled on its route only, so one service's callers never get into another's.
 *   <li>{@code marchproxy.license}: every request (edition header, license headers stripped).
 *   <li>{@code marchproxy.license.<feature>}: one per feature tag routes carry; disabled, enabled
 *       on the routes with that tag, where it answers 402 unless the license grants the feature.
 * </ol>
 */
public final class WasmFilters {

  public static final String METRICS = "marchproxy.metrics";
  public static final String AUTH = "marchproxy.auth";
  public static final String LICENSE = "marchproxy.license";

  /** The modules, by the file name the wasm module ships and the Envoy image installs. */
  public static final List<String> MODULES = List.of("metrics", "auth", "license");

  /** Where the Envoy image installs the modules (envoy-image/Dockerfile). */
  public static final String IMAGE_DIR = "/etc/envoy/wasm";

  /** The VM environment variable that names the code hash xds-service expects the image to run. */
  public static final String CODE_SHA256_VARIABLE = "MARCHPROXY_WASM_SHA256";

  static final String WASM_FILTER_TYPE = "envoy.filters.http.wasm";
  static final String RUNTIME = "envoy.wasm.runtime.v8";

  /**
   * A route that requires auth but whose backends have no active credential refuses every request:
   * the auth filter needs something to compare against, and this hash has no known preimage.
   */
  static final String NOBODY_SHA256 = "0".repeat(64);

  /** Smallest key per algorithm, RFC 7518 3.2: the filter refuses a configuration below it. */
  private static final Map<String, Integer> MIN_KEY_BYTES =
      Map.of("HS256", 32, "HS384", 48, "HS512", 64);

  private static final Pattern EDITION = Pattern.compile("[A-Za-z0-9._-]{1,64}");
  private static final Pattern SHA256_HEX = Pattern.compile("[0-9a-f]{64}");

  private WasmFilters() {}

  /** The license as the filters see it; never the license key. */
  public record InstalledLicense(String edition, List<String> features, Long featuresUntil) {

    public static final InstalledLicense COMMUNITY =
        new InstalledLicense("community", List.of(), null);

    /**
     * @param featuresUntil seconds since the epoch after which no gated feature is licensed (the
     *     key's expiry plus its grace), null for never; the filter enforces it on its own clock, so
     *     the configuration does not change when the moment passes
     */
    public InstalledLicense {
      Objects.requireNonNull(edition, "edition");
      features = List.copyOf(new TreeSet<>(features));
    }
  }

  /**
   * What the document does not carry.
   *
   * @param jwtSecrets credential id → the HMAC key of a {@code jwt} credential (the secret as
   *     handed to the operator, as bytes); credentials missing here contribute no key
   * @param license the installed license
   * @param codeSha256 module name ({@link #MODULES}) → lowercase hex sha256 of its {@code .wasm}
   * @param codeDirectory where Envoy finds {@code <module>.wasm}: {@link #IMAGE_DIR} in the image,
   *     the build output when {@code ./marchproxy up} runs an Envoy from PATH
   */
  public record Material(
      Map<UUID, byte[]> jwtSecrets,
      InstalledLicense license,
      Map<String, String> codeSha256,
      String codeDirectory) {

    /** With the modules where the Envoy image installs them. */
    public Material(
        Map<UUID, byte[]> jwtSecrets, InstalledLicense license, Map<String, String> codeSha256) {
      this(jwtSecrets, license, codeSha256, IMAGE_DIR);
    }

    public Material {
      if (codeDirectory == null || !codeDirectory.startsWith("/")) {
        throw new IllegalArgumentException("the WASM code directory must be an absolute path");
      }
      codeDirectory =
          codeDirectory.length() > 1 && codeDirectory.endsWith("/")
              ? codeDirectory.substring(0, codeDirectory.length() - 1)
              : codeDirectory;
      jwtSecrets = Map.copyOf(jwtSecrets);
      Objects.requireNonNull(license, "license");
      codeSha256 = Map.copyOf(codeSha256);
      for (String module : MODULES) {
        String sha = codeSha256.get(module);
        if (sha == null || !SHA256_HEX.matcher(sha).matches()) {
          throw new IllegalArgumentException("no sha256 for the " + module + " module");
        }
      }
    }

    /** Secrets stay out of logs and exception messages. */
    @Override
    public String toString() {
      return "Material[jwtSecrets=" + jwtSecrets.size() + " redacted, license=" + license + "]";
    }
  }

  /** The filters over fixed material (tests, tools); the server loads material per build. */
  public static L7Filters of(Material material) {
    return new L7Filters() {
      @Override
      public List<HttpFilter> beforeRouter(ClusterConfig config) {
        return chain(config).beforeRouter();
      }

      @Override
      public L7Filters.Chain chain(ClusterConfig config) {
        return build(config, material);
      }
    };
  }

  /** The filters of one cluster, and which disabled ones each route turns on. */
  public static L7Filters.Chain build(ClusterConfig config, Material material) {
    Document doc = Document.of(config);
    List<HttpFilter> filters = new ArrayList<>();
    Map<String, List<String>> enabled = new TreeMap<>();

    filters.add(filter(METRICS, "metrics", metricsConfiguration(), material, false));

    for (ClusterConfig.Route route : doc.routes()) {
      RouteSpec.Auth auth = Document.spec(route).auth();
      if (auth != null && Boolean.TRUE.equals(auth.required())) {
        String name = AUTH + "." + route.name();
        filters.add(filter(name, "auth", authConfiguration(route, doc, material), material, true));
        enabled.computeIfAbsent(route.name(), r -> new ArrayList<>()).add(name);
      }
    }

    InstalledLicense license = material.license();
    filters.add(filter(LICENSE, "license", licenseConfiguration(license, null), material, false));
    Map<String, List<String>> routesByFeature = new TreeMap<>();
    for (ClusterConfig.Route route : doc.routes()) {
      String feature = Document.spec(route).feature();
      if (feature != null && !feature.isBlank()) {
        routesByFeature.computeIfAbsent(feature, f -> new ArrayList<>()).add(route.name());
      }
    }
    routesByFeature.forEach(
        (feature, routes) -> {
          String name = LICENSE + "." + feature;
          filters.add(
              filter(name, "license", licenseConfiguration(license, feature), material, true));
          routes.forEach(r -> enabled.computeIfAbsent(r, x -> new ArrayList<>()).add(name));
        });
    return new L7Filters.Chain(filters, enabled);
  }

  /** The plugin configuration (JSON) of a filter this class built; for tests and status pages. */
  public static String pluginConfiguration(HttpFilter filter) {
    try {
      return filter
          .getTypedConfig()
          .unpack(Wasm.class)
          .getConfig()
          .getConfiguration()
          .unpack(StringValue.class)
          .getValue();
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalArgumentException(filter.getName() + " is not a MarchProxy WASM filter", e);
    }
  }

  private static HttpFilter filter(
      String name, String module, String configuration, Material material, boolean disabled) {
    // Auth and license refuse (503) when their VM fails; a broken metrics VM must not stop traffic.
    FailurePolicy failure =
        module.equals("metrics") ? FailurePolicy.FAIL_OPEN : FailurePolicy.FAIL_CLOSED;
    PluginConfig plugin =
        PluginConfig.newBuilder()
            .setName(name)
            .setRootId(name)
            .setVmConfig(
                VmConfig.newBuilder()
                    // One VM per module, shared by all of that module's configurations.
                    .setVmId("marchproxy." + module)
                    .setRuntime(RUNTIME)
                    .setCode(
                        AsyncDataSource.newBuilder()
                            .setLocal(
                                DataSource.newBuilder()
                                    .setFilename(
                                        material.codeDirectory() + "/" + module + ".wasm")))
                    .setEnvironmentVariables(
                        EnvironmentVariables.newBuilder()
                            .putKeyValues(CODE_SHA256_VARIABLE, material.codeSha256().get(module))))
            .setConfiguration(Any.pack(StringValue.of(configuration)))
            .setFailurePolicy(failure)
            .build();
    return HttpFilter.newBuilder()
        .setName(name)
        .setTypedConfig(Any.pack(Wasm.newBuilder().setConfig(plugin).build()))
        .setDisabled(disabled)
        .build();
  }

  /**
   * Per-route counters come from Envoy's {@code xds.route_name} (every route has a name), so the
   * configuration does not change with the routes: a route change never touches the listener.
   */
  static String metricsConfiguration() {
    Map<String, Object> json = new LinkedHashMap<>();
    json.put("prefix", "marchproxy");
    return JsonText.write(json);
  }

  /**
   * A route's callers: the active credentials of every backend that takes caller auth. A weighted
   * route may send a request to any of its backends, so a credential of any of them is accepted.
   * Issuer and audience are checked only when every JWT backend of the route names the same issuer
   * / names an audience; otherwise the signature (a per-service secret) is the check.
   */
  static String authConfiguration(ClusterConfig.Route route, Document doc, Material material) {
    TreeSet<String> backendNames = new TreeSet<>();
    for (RouteSpec.Backend b : Document.list(Document.spec(route).backends())) {
      if (b != null && b.service() != null) {
        backendNames.add(b.service());
      }
    }
    List<Map<String, Object>> keys = new ArrayList<>();
    List<Map<String, Object>> tokens = new ArrayList<>();
    TreeSet<String> issuers = new TreeSet<>();
    TreeSet<String> audiences = new TreeSet<>();
    boolean everyJwtServiceHasIssuer = true;
    boolean everyJwtServiceHasAudience = true;
    for (String serviceName : backendNames) {
      Optional<ClusterConfig.Service> found = doc.service(serviceName);
      if (found.isEmpty()) {
        continue;
      }
      ClusterConfig.Service service = found.get();
      ServiceSpec.CallerAuth callerAuth = Document.spec(service).auth();
      String mode = callerAuth == null ? null : callerAuth.mode();
      if (mode == null || mode.equals("none")) {
        continue;
      }
      List<ClusterConfig.Credential> credentials =
          Document.list(service.credentials()).stream()
              .filter(c -> c != null && c.id() != null)
              .sorted(java.util.Comparator.comparing(ClusterConfig.Credential::id))
              .toList();
      boolean contributedKey = false;
      for (ClusterConfig.Credential credential : credentials) {
        Long expiresAt = epochSeconds(credential.expiresAt());
        if ("token".equals(credential.kind()) && credential.tokenSha256() != null) {
          Map<String, Object> token = new LinkedHashMap<>();
          token.put("name", service.name() + "/" + credential.id());
          token.put("sha256", credential.tokenSha256());
          putIfNotNull(token, "expires_at", expiresAt);
          tokens.add(token);
        } else if ("jwt".equals(credential.kind())) {
          byte[] secret = material.jwtSecrets().get(credential.id());
          if (secret == null) {
            continue;
          }
          for (String algorithm : algorithms(callerAuth)) {
            if (secret.length < MIN_KEY_BYTES.get(algorithm)) {
              continue;
            }
            Map<String, Object> key = new LinkedHashMap<>();
            key.put("id", credential.id().toString());
            key.put("algorithm", algorithm);
            key.put("secret_base64", Base64.getEncoder().encodeToString(secret));
            putIfNotNull(key, "expires_at", expiresAt);
            keys.add(key);
            contributedKey = true;
          }
        }
      }
      if (contributedKey) {
        if (callerAuth.jwtIssuer() == null || callerAuth.jwtIssuer().isBlank()) {
          everyJwtServiceHasIssuer = false;
        } else {
          issuers.add(callerAuth.jwtIssuer());
        }
        if (callerAuth.jwtAudience() == null || callerAuth.jwtAudience().isBlank()) {
          everyJwtServiceHasAudience = false;
        } else {
          audiences.add(callerAuth.jwtAudience());
        }
      }
    }
    Map<String, Object> json = new LinkedHashMap<>();
    if (!keys.isEmpty()) {
      Map<String, Object> jwt = new LinkedHashMap<>();
      jwt.put("keys", keys);
      if (everyJwtServiceHasIssuer && issuers.size() == 1) {
        jwt.put("issuer", issuers.first());
      }
      if (everyJwtServiceHasAudience && !audiences.isEmpty()) {
        jwt.put("audiences", List.copyOf(audiences));
      }
      json.put("jwt", jwt);
    }
    if (keys.isEmpty() && tokens.isEmpty()) {
      Map<String, Object> nobody = new LinkedHashMap<>();
      nobody.put("name", "nobody");
      nobody.put("sha256", NOBODY_SHA256);
      tokens.add(nobody);
    }
    if (!tokens.isEmpty()) {
      json.put("static_tokens", tokens);
    }
    List<String> exempt =
        new TreeSet<>(
                Document.list(Document.spec(route).auth().exemptPaths()).stream()
                    .filter(p -> p != null && !p.isBlank())
                    .toList())
            .stream().toList();
    if (!exempt.isEmpty()) {
      json.put("exempt_paths", exempt);
    }
    return JsonText.write(json);
  }

  /**
   * The installed license; with a feature, also the rule that gates every path of the routes that
   * enable this filter ("/": the route match already chose the requests).
   */
  static String licenseConfiguration(InstalledLicense license, String feature) {
    Map<String, Object> json = new LinkedHashMap<>();
    // The filter refuses an edition it could not put in a header; never NACK a listener over it.
    json.put(
        "edition", EDITION.matcher(license.edition()).matches() ? license.edition() : "unknown");
    json.put("features", license.features());
    if (feature != null) {
      Map<String, Object> rule = new LinkedHashMap<>();
      rule.put("path_prefix", "/");
      rule.put("feature", feature);
      json.put("rules", List.of(rule));
    }
    putIfNotNull(json, "expires_at", license.featuresUntil());
    return JsonText.write(json);
  }

  private static List<String> algorithms(ServiceSpec.CallerAuth auth) {
    TreeSet<String> out = new TreeSet<>();
    for (String a : Document.list(auth.jwtAlgorithms())) {
      if (a != null && MIN_KEY_BYTES.containsKey(a)) {
        out.add(a);
      }
    }
    if (out.isEmpty()) {
      out.add("HS256");
    }
    return List.copyOf(out);
  }

  private static Long epochSeconds(String instant) {
    if (instant == null) {
      return null;
    }
    try {
      return Instant.parse(instant).getEpochSecond();
    } catch (DateTimeParseException e) {
      // The renderer writes Instant.toString(); anything else is treated as already expired.
      return 0L;
    }
  }

  private static void putIfNotNull(Map<String, Object> map, String key, Object value) {
    if (value != null) {
      map.put(key, value);
    }
  }
}
