package io.marchproxy.core.license;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyFactory;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.spec.PKCS8EncodedKeySpec;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * Mints license keys (the licensing side; not shipped to customers' control planes as a service).
 *
 * <pre>
 * LicenseMint keypair OUT_DIR
 * LicenseMint mint --private-key FILE --customer NAME --edition enterprise --max-proxies N
 *                  --max-clusters N [--features a,b] --expires YYYY-MM-DD
 * </pre>
 *
 * Exit codes: 0 ok, 2 bad arguments, 1 failure.
 */
public final class LicenseMint {

  private LicenseMint() {}

  public static void main(String[] args) {
    try {
      System.out.println(run(args));
    } catch (IllegalArgumentException e) {
      System.err.println("license-mint: " + e.getMessage());
      System.err.println(usage());
      System.exit(2);
    } catch (Exception e) {
      System.err.println("license-mint: " + e.getMessage());
      System.exit(1);
    }
  }

  static String usage() {
    return "usage: LicenseMint keypair OUT_DIR\n"
        + "       LicenseMint mint --private-key FILE --customer NAME --edition EDITION"
        + " --max-proxies N --max-clusters N [--features a,b] --expires YYYY-MM-DD";
  }

  static String run(String[] args) throws Exception {
    if (args.length == 0) {
      throw new IllegalArgumentException("a command is required");
    }
    return switch (args[0]) {
      case "keypair" -> {
        if (args.length != 2) {
          throw new IllegalArgumentException("keypair needs OUT_DIR");
        }
        var pair = KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
        Path dir = Files.createDirectories(Path.of(args[1]));
        Files.writeString(
            dir.resolve("private-key.b64"),
            Base64.getEncoder().encodeToString(pair.getPrivate().getEncoded()));
        Files.writeString(
            dir.resolve("public-key.b64"),
            Base64.getEncoder().encodeToString(pair.getPublic().getEncoded()));
        yield "wrote " + dir.resolve("private-key.b64") + " and " + dir.resolve("public-key.b64");
      }
      case "mint" -> mint(options(args));
      default -> throw new IllegalArgumentException("unknown command " + args[0]);
    };
  }

  private static Map<String, String> options(String[] args) {
    Map<String, String> o = new LinkedHashMap<>();
    for (int i = 1; i < args.length; i += 2) {
      if (!args[i].startsWith("--") || i + 1 >= args.length) {
        throw new IllegalArgumentException("expected --option value pairs, got " + args[i]);
      }
      o.put(args[i].substring(2), args[i + 1]);
    }
    for (String required :
        List.of("private-key", "customer", "edition", "max-proxies", "max-clusters", "expires")) {
      if (!o.containsKey(required)) {
        throw new IllegalArgumentException("--" + required + " is required");
      }
    }
    return o;
  }

  private static String mint(Map<String, String> o) throws Exception {
    int maxProxies = positive(o.get("max-proxies"), "max-proxies");
    int maxClusters = positive(o.get("max-clusters"), "max-clusters");
    long exp;
    try {
      exp = LocalDate.parse(o.get("expires")).atStartOfDay(ZoneOffset.UTC).toEpochSecond();
    } catch (java.time.DateTimeException e) {
      throw new IllegalArgumentException("--expires must be YYYY-MM-DD");
    }
    List<String> features = new ArrayList<>();
    for (String f : o.getOrDefault("features", "").split(",")) {
      if (!f.isBlank()) {
        features.add(f.trim());
      }
    }
    PrivateKey key =
        KeyFactory.getInstance("Ed25519")
            .generatePrivate(
                new PKCS8EncodedKeySpec(
                    Base64.getDecoder()
                        .decode(Files.readString(Path.of(o.get("private-key"))).trim())));
    return sign(
        key,
        new LicenseClaims(
            LicenseVerifier.ISSUER,
            o.get("customer"),
            o.get("edition"),
            maxProxies,
            maxClusters,
            features,
            System.currentTimeMillis() / 1000,
            exp,
            UUID.randomUUID().toString()));
  }

  /** Signs claims into a license key. Public for tests that mint with a test key pair. */
  public static String sign(PrivateKey key, LicenseClaims c) throws Exception {
    StringBuilder json = new StringBuilder("{");
    json.append("\"iss\":")
        .append(quote(c.iss()))
        .append(",\"customer\":")
        .append(quote(c.customer()))
        .append(",\"edition\":")
        .append(quote(c.edition()))
        .append(",\"maxProxies\":")
        .append(c.maxProxies())
        .append(",\"maxClusters\":")
        .append(c.maxClusters())
        .append(",\"features\":[");
    List<String> features = c.features() == null ? List.of() : c.features();
    for (int i = 0; i < features.size(); i++) {
      json.append(i == 0 ? "" : ",").append(quote(features.get(i)));
    }
    json.append("],\"iat\":")
        .append(c.iat())
        .append(",\"exp\":")
        .append(c.exp())
        .append(",\"jti\":")
        .append(quote(c.jti() == null ? UUID.randomUUID().toString() : c.jti()))
        .append('}');
    String input =
        LicenseVerifier.HEADER
            + "."
            + LicenseVerifier.b64(json.toString().getBytes(StandardCharsets.UTF_8));
    Signature sig = Signature.getInstance("Ed25519");
    sig.initSign(key);
    sig.update(input.getBytes(StandardCharsets.US_ASCII));
    return input + "." + LicenseVerifier.b64(sig.sign());
  }

  private static int positive(String value, String name) {
    try {
      int n = Integer.parseInt(value);
      if (n < 1) {
        throw new NumberFormatException();
      }
      return n;
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("--" + name + " must be a positive number");
    }
  }

  private static String quote(String s) {
    StringBuilder out = new StringBuilder("\"");
    for (char ch : s.toCharArray()) {
      switch (ch) {
        case '"' -> out.append("\\\"");
        case '\\' -> out.append("\\\\");
        default -> {
          if (ch < 0x20) {
            out.append(String.format("\\u%04x", (int) ch));
          } else {
            out.append(ch);
          }
        }
      }
    }
    return out.append('"').toString();
  }
}
