package io.marchproxy.wasm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.marchproxy.wasm.FilterHost.Exchange;
import io.marchproxy.wasm.FilterHost.Filter;
import io.marchproxy.wasm.FilterHost.Request;
import io.roastedroot.proxywasm.StartException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.Base64;
import java.util.HexFormat;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/** The auth filter, built to wasm, in the proxy-wasm host: what a client gets for each token. */
class AuthFilterTest {
  // Two HS256 keys during a rotation (old "2026-01", new "2026-02"), plus one HS384 and one HS512.
  static final byte[] OLD_KEY = bytes("old-hs256-key-that-is-at-least-32-bytes!");
  static final byte[] NEW_KEY = bytes("new-hs256-key-that-is-at-least-32-bytes!");
  static final byte[] KEY_384 = bytes("hs384-key-0123456789-0123456789-0123456789-01234567");
  static final byte[] KEY_512 =
      bytes("hs512-key-0123456789-0123456789-0123456789-0123456789-0123456789");
  static final byte[] STRANGER_KEY = bytes("a-key-nobody-configured-0123456789abcdef");
  static final String SERVICE_TOKEN = "mpt_ci_4f1d0c2b9a8e7d6c5b4a39281706f5e4";

  static final String CONFIG =
      """
      {
        "realm": "orders",
        "jwt": {
          "keys": [
            {"id": "2026-01", "algorithm": "HS256", "secret_base64": "%s"},
            {"id": "2026-02", "algorithm": "HS256", "secret_base64": "%s"},
            {"id": "k384", "algorithm": "HS384", "secret_base64": "%s"},
            {"id": "k512", "algorithm": "HS512", "secret_base64": "%s"}
          ],
          "issuer": "https://id.marchproxy.example",
          "audiences": ["orders-api", "billing-api"],
          "leeway_seconds": 60
        },
        "static_tokens": [{"name": "ci-deploy", "sha256": "%s"}],
        "exempt_paths": ["/healthz", "/public/*"]
      }
      """
          .formatted(
              b64(OLD_KEY), b64(NEW_KEY), b64(KEY_384), b64(KEY_512), sha256Hex(SERVICE_TOKEN));

  private static FilterHost auth;

  @BeforeAll
  static void start() throws Exception {
    auth = FilterHost.start(Filter.AUTH, CONFIG);
  }

  @AfterAll
  static void stop() {
    auth.close();
  }

  static long now() {
    return Instant.now().getEpochSecond();
  }

  static String claims(String extra) {
    return "{\"sub\":\"alice\",\"iss\":\"https://id.marchproxy.example\",\"aud\":\"orders-api\","
        + "\"exp\":"
        + (now() + 600)
        + (extra.isEmpty() ? "" : "," + extra)
        + "}";
  }

  static String claimsWith(String json) {
    return json.replace("NOW+600", Long.toString(now() + 600))
        .replace("NOW-3600", Long.toString(now() - 3600))
        .replace("NOW-30", Long.toString(now() - 30))
        .replace("NOW+3600", Long.toString(now() + 3600))
        .replace("NOW+30", Long.toString(now() + 30));
  }

  static final String VALID =
      "{\"sub\":\"alice\",\"iss\":\"https://id.marchproxy.example\","
          + "\"aud\":\"orders-api\",\"exp\":NOW+600}";

  static String valid256() {
    return Jwt.sign("HS256", NEW_KEY, "2026-02", claimsWith(VALID));
  }

  static Exchange call(String token) {
    return auth.send(Request.get("/orders/42").withHeader("authorization", "Bearer " + token));
  }

  /** name, token, expected status, expected reason in the 403 body (null when forwarded). */
  static Stream<Arguments> tokens() {
    String good = valid256();
    String[] parts = good.split("\\.");
    return Stream.of(
        Arguments.of("HS256, new key", good, 200, null),
        Arguments.of(
            "HS256, old key still in the rotation overlap",
            Jwt.sign("HS256", OLD_KEY, "2026-01", claimsWith(VALID)),
            200,
            null),
        Arguments.of(
            "HS256 without kid tries every HS256 key",
            Jwt.sign("HS256", OLD_KEY, null, claimsWith(VALID)),
            200,
            null),
        Arguments.of("HS384", Jwt.sign("HS384", KEY_384, "k384", claimsWith(VALID)), 200, null),
        Arguments.of("HS512", Jwt.sign("HS512", KEY_512, null, claimsWith(VALID)), 200, null),
        Arguments.of(
            "audience list containing a configured audience",
            Jwt.sign(
                "HS256",
                NEW_KEY,
                null,
                claimsWith(VALID.replace("\"orders-api\"", "[\"x\",\"billing-api\"]"))),
            200,
            null),
        Arguments.of(
            "expired within the leeway",
            Jwt.sign("HS256", NEW_KEY, null, claimsWith(VALID.replace("NOW+600", "NOW-30"))),
            200,
            null),
        Arguments.of(
            "expired",
            Jwt.sign("HS256", NEW_KEY, null, claimsWith(VALID.replace("NOW+600", "NOW-3600"))),
            403,
            "token_expired"),
        Arguments.of(
            "not yet valid",
            Jwt.sign(
                "HS256",
                NEW_KEY,
                null,
                claimsWith(VALID.replace("\"exp\"", "\"nbf\":NOW+3600,\"exp\""))),
            403,
            "token_not_yet_valid"),
        Arguments.of(
            "nbf within the leeway",
            Jwt.sign(
                "HS256",
                NEW_KEY,
                null,
                claimsWith(VALID.replace("\"exp\"", "\"nbf\":NOW+30,\"exp\""))),
            200,
            null),
        Arguments.of(
            "wrong key",
            Jwt.sign("HS256", STRANGER_KEY, null, claimsWith(VALID)),
            403,
            "bad_signature"),
        Arguments.of(
            "kid of the old key, signed with the new one",
            Jwt.sign("HS256", NEW_KEY, "2026-01", claimsWith(VALID)),
            403,
            "bad_signature"),
        Arguments.of(
            "algorithm not configured (RS256)",
            Jwt.segment("{\"alg\":\"RS256\"}") + "." + parts[1] + "." + parts[2],
            403,
            "algorithm_not_allowed"),
        Arguments.of(
            "HS256 header over an HS512 signature",
            Jwt.signWithHeader(
                "HS512", KEY_512, "{\"alg\":\"HS256\",\"typ\":\"JWT\"}", claimsWith(VALID)),
            403,
            "bad_signature"),
        Arguments.of(
            "HS384 header, signed with the HS256 key's secret",
            Jwt.sign("HS384", NEW_KEY, "2026-02", claimsWith(VALID)),
            403,
            "bad_signature"),
        Arguments.of(
            "alg none with a signature",
            Jwt.segment("{\"alg\":\"none\"}") + "." + parts[1] + "." + parts[2],
            403,
            "algorithm_not_allowed"),
        Arguments.of(
            "alg none without a signature",
            Jwt.segment("{\"alg\":\"none\"}") + "." + parts[1] + ".",
            403,
            "malformed_token"),
        Arguments.of(
            "signature three bytes short",
            parts[0]
                + "."
                + parts[1]
                + "."
                + Jwt.segment(java.util.Arrays.copyOf(Base64.getUrlDecoder().decode(parts[2]), 29)),
            403,
            "bad_signature"),
        Arguments.of(
            "signature cut to an impossible base64 length",
            good.substring(0, good.length() - 10),
            403,
            "malformed_token"),
        Arguments.of("two segments", parts[0] + "." + parts[1], 403, "unknown_token"),
        Arguments.of("oversized", good + "A".repeat(9000), 403, "token_too_large"),
        Arguments.of(
            "non-base64 payload, signature not matching",
            parts[0] + ".eyJ!!!*@@." + parts[2],
            403,
            "bad_signature"),
        Arguments.of(
            "non-base64 payload, validly signed",
            Jwt.signRaw("HS256", NEW_KEY, parts[0] + ".eyJ!!!*@@"),
            403,
            "malformed_token"),
        Arguments.of(
            "non-base64 header", "eyJ%%%." + parts[1] + "." + parts[2], 403, "malformed_token"),
        Arguments.of(
            "padded base64url segment",
            parts[0] + "=." + parts[1] + "." + parts[2],
            403,
            "malformed_token"),
        Arguments.of(
            "garbage JSON claims, validly signed",
            Jwt.sign("HS256", NEW_KEY, null, "{\"sub\":\"alice\",\"exp\":"),
            403,
            "malformed_token"),
        Arguments.of(
            "claims that are a JSON array, validly signed",
            Jwt.sign("HS256", NEW_KEY, null, "[1,2,3]"),
            403,
            "malformed_token"),
        Arguments.of(
            "header that is not JSON",
            Jwt.segment("alg=HS256") + "." + parts[1] + "." + parts[2],
            403,
            "malformed_token"),
        Arguments.of(
            "deeply nested claims, validly signed",
            Jwt.sign("HS256", NEW_KEY, null, "[".repeat(2000) + "]".repeat(2000)),
            403,
            "malformed_token"),
        Arguments.of(
            "no exp claim",
            Jwt.sign(
                "HS256",
                NEW_KEY,
                null,
                "{\"sub\":\"alice\",\"iss\":\"https://id.marchproxy.example\",\"aud\":\"orders-api\"}"),
            403,
            "malformed_token"),
        Arguments.of(
            "exp that is a string",
            Jwt.sign("HS256", NEW_KEY, null, claimsWith(VALID.replace("NOW+600", "\"tomorrow\""))),
            403,
            "malformed_token"),
        Arguments.of(
            "wrong issuer",
            Jwt.sign("HS256", NEW_KEY, null, claimsWith(VALID.replace("id.marchproxy", "evil"))),
            403,
            "wrong_issuer"),
        Arguments.of(
            "wrong audience",
            Jwt.sign("HS256", NEW_KEY, null, claimsWith(VALID.replace("orders-api", "admin-api"))),
            403,
            "wrong_audience"),
        Arguments.of(
            "critical header extension",
            Jwt.signWithHeader(
                "HS256", NEW_KEY, "{\"alg\":\"HS256\",\"crit\":[\"exp\"]}", claimsWith(VALID)),
            403,
            "malformed_token"),
        Arguments.of("static service token", SERVICE_TOKEN, 200, null),
        Arguments.of(
            "the stored hash itself is not a token",
            sha256Hex(SERVICE_TOKEN),
            403,
            "unknown_token"),
        Arguments.of("unknown opaque token", "mpt_ci_guessing", 403, "unknown_token"));
  }

  @ParameterizedTest(name = "{0} -> {2}")
  @MethodSource("tokens")
  void answersEachTokenWithTheRightStatus(String name, String token, int status, String reason) {
    Exchange exchange = call(token);

    assertThat(exchange.status()).isEqualTo(status);
    assertThat(exchange.forwarded()).isEqualTo(status == 200);
    if (status == 403) {
      assertThat(exchange.body()).contains("\"reason\":\"" + reason + "\"");
      assertThat(exchange.responseHeaders().get("www-authenticate"))
          .isEqualTo("Bearer realm=\"orders\", error=\"invalid_token\"");
      assertThat(exchange.body()).doesNotContain(token);
    }
  }

  @Test
  void tellsUpstreamWhoAuthenticated() {
    assertThat(call(valid256()).upstreamRequestHeaders())
        .containsEntry("x-marchproxy-principal", "jwt:alice");
    assertThat(call(SERVICE_TOKEN).upstreamRequestHeaders())
        .containsEntry("x-marchproxy-principal", "token:ci-deploy");
  }

  @ParameterizedTest(name = "Authorization: \"{0}\" -> 401")
  @ValueSource(strings = {"", "Basic YWxpY2U6c2VjcmV0", "Bearer", "Bearer    ", "Token abc"})
  void challengesRequestsWithoutABearerToken(String authorization) {
    var request = Request.get("/orders/42");
    if (!authorization.isEmpty()) {
      request = request.withHeader("authorization", authorization);
    }
    Exchange exchange = auth.send(request);

    assertThat(exchange.status()).isEqualTo(401);
    assertThat(exchange.forwarded()).isFalse();
    assertThat(exchange.responseHeaders())
        .containsEntry("www-authenticate", "Bearer realm=\"orders\"");
    assertThat(exchange.responseHeaders()).containsEntry("content-type", "application/json");
  }

  @Test
  void acceptsTheSchemeInAnyCase() {
    var exchange =
        auth.send(Request.get("/orders/42").withHeader("authorization", "bearer " + valid256()));
    assertThat(exchange.status()).isEqualTo(200);
  }

  @ParameterizedTest(name = "{0} -> {1}")
  @MethodSource("paths")
  void letsExemptPathsThroughWithoutAToken(String path, int status) {
    assertThat(auth.send(Request.get(path)).status()).isEqualTo(status);
  }

  static Stream<Arguments> paths() {
    return Stream.of(
        Arguments.of("/healthz", 200),
        Arguments.of("/healthz?verbose=1", 200),
        Arguments.of("/public/", 200),
        Arguments.of("/public/docs/index.html", 200),
        Arguments.of("/healthzz", 401),
        Arguments.of("/publicity", 401),
        Arguments.of("/orders", 401));
  }

  @Test
  void dropsAPrincipalHeaderTheClientMadeUp() {
    var exchange =
        auth.send(Request.get("/healthz").withHeader("x-marchproxy-principal", "jwt:admin"));

    assertThat(exchange.forwarded()).isTrue();
    assertThat(exchange.upstreamRequestHeaders()).doesNotContainKey("x-marchproxy-principal");
  }

  @Test
  void neverWritesATokenToTheLog() {
    String refused = Jwt.sign("HS256", STRANGER_KEY, null, claimsWith(VALID));
    call(refused);
    call(valid256());
    call(SERVICE_TOKEN);

    assertThat(auth.logs())
        .anySatisfy(line -> assertThat(line.message()).contains("bad_signature"));
    assertThat(auth.logs())
        .allSatisfy(
            line -> {
              assertThat(line.message()).doesNotContain(refused.split("\\.")[2]);
              assertThat(line.message()).doesNotContain(SERVICE_TOKEN);
            });
  }

  @Test
  void answersEveryMutatedTokenWithA403AndNeverTraps() {
    var random = new Random(7);
    String good = valid256();
    String alphabet = "ABCxyz019-_.=+/!\"{}\\ é";
    int refused = 0;
    for (int i = 0; i < 300; i++) {
      var mutated = new StringBuilder(good);
      int edits = 1 + random.nextInt(4);
      for (int e = 0; e < edits; e++) {
        int at = random.nextInt(mutated.length());
        switch (random.nextInt(3)) {
          case 0 -> mutated.setCharAt(at, alphabet.charAt(random.nextInt(alphabet.length())));
          case 1 -> mutated.deleteCharAt(at);
          default -> mutated.insert(at, alphabet.charAt(random.nextInt(alphabet.length())));
        }
      }
      if (mutated.toString().equals(good)) {
        continue;
      }
      Exchange exchange = call(mutated.toString());
      assertThat(exchange.status()).as("token %s", mutated).isEqualTo(403);
      refused++;
    }
    assertThat(refused).isGreaterThan(250);
  }

  @Test
  void aKeyOrTokenStopsWorkingAtItsExpiry() throws Exception {
    // The end of a rotation's overlap travels with the key: the data plane retires it on time,
    // without waiting for a new configuration.
    String retiredToken = "mps_retired_0000000000000000000000000";
    String config =
        """
        {"jwt": {"keys": [
           {"id": "old", "algorithm": "HS256", "secret_base64": "%s", "expires_at": %d},
           {"id": "new", "algorithm": "HS256", "secret_base64": "%s", "expires_at": %d}]},
         "static_tokens": [
           {"name": "retired", "sha256": "%s", "expires_at": %d},
           {"name": "ci-deploy", "sha256": "%s", "expires_at": %d}]}
        """
            .formatted(
                b64(OLD_KEY),
                now() - 1,
                b64(NEW_KEY),
                now() + 3600,
                sha256Hex(retiredToken),
                now() - 1,
                sha256Hex(SERVICE_TOKEN),
                now() + 3600);
    try (FilterHost host = FilterHost.start(Filter.AUTH, config)) {
      java.util.function.Function<String, Exchange> send =
          token -> host.send(Request.get("/orders").withHeader("authorization", "Bearer " + token));
      assertThat(send.apply(Jwt.sign("HS256", NEW_KEY, "new", claimsWith(VALID))).status())
          .isEqualTo(200);
      Exchange oldKey = send.apply(Jwt.sign("HS256", OLD_KEY, "old", claimsWith(VALID)));
      assertThat(oldKey.status()).isEqualTo(403);
      assertThat(oldKey.body()).contains("bad_signature");
      assertThat(send.apply(Jwt.sign("HS256", OLD_KEY, null, claimsWith(VALID))).status())
          .isEqualTo(403);
      assertThat(send.apply(SERVICE_TOKEN).status()).isEqualTo(200);
      Exchange retired = send.apply(retiredToken);
      assertThat(retired.status()).isEqualTo(403);
      assertThat(retired.body()).contains("unknown_token");
    }
  }

  /** name, configuration: each must be refused when the filter starts (Envoy then NACKs it). */
  static Stream<Arguments> badConfigurations() {
    String key = b64(NEW_KEY);
    return Stream.of(
        Arguments.of("not JSON", "{nope"),
        Arguments.of(
            "realm that would break out of WWW-Authenticate",
            "{\"realm\": \"x\\\", evil=\\\"1\", \"static_tokens\": [{\"name\": \"ci\", \"sha256\": \""
                + sha256Hex("t")
                + "\"}]}"),
        Arguments.of("nothing that could authenticate", "{}"),
        Arguments.of(
            "alg none",
            "{\"jwt\":{\"keys\":[{\"algorithm\":\"none\",\"secret_base64\":\"" + key + "\"}]}}"),
        Arguments.of(
            "RS256 key",
            "{\"jwt\":{\"keys\":[{\"algorithm\":\"RS256\",\"secret_base64\":\"" + key + "\"}]}}"),
        Arguments.of(
            "HS256 key shorter than 32 bytes",
            "{\"jwt\":{\"keys\":[{\"algorithm\":\"HS256\",\"secret_base64\":\""
                + b64(bytes("short"))
                + "\"}]}}"),
        Arguments.of(
            "secret that is not base64",
            "{\"jwt\":{\"keys\":[{\"algorithm\":\"HS256\",\"secret_base64\":\"***\"}]}}"),
        Arguments.of(
            "static token hash that is not sha256 hex",
            "{\"static_tokens\":[{\"name\":\"ci\",\"sha256\":\"abc\"}]}"),
        Arguments.of(
            "expiry that is not a number",
            "{\"static_tokens\":[{\"name\":\"ci\",\"sha256\":\""
                + sha256Hex("t")
                + "\",\"expires_at\":\"tomorrow\"}]}"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("badConfigurations")
  void refusesABadConfiguration(String name, String configuration) {
    assertThatThrownBy(() -> FilterHost.start(Filter.AUTH, configuration).close())
        .isInstanceOf(StartException.class);
  }

  static byte[] bytes(String text) {
    return text.getBytes(StandardCharsets.UTF_8);
  }

  static String b64(byte[] raw) {
    return Base64.getEncoder().encodeToString(raw);
  }

  static String sha256Hex(String token) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes(token)));
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }
}
