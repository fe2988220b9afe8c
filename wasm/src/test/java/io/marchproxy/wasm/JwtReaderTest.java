package io.marchproxy.wasm;

import static io.marchproxy.wasm.AuthFilterTest.CONFIG;
import static io.marchproxy.wasm.AuthFilterTest.NEW_KEY;
import static io.marchproxy.wasm.AuthFilterTest.bytes;
import static io.marchproxy.wasm.AuthFilterTest.claimsWith;
import static org.assertj.core.api.Assertions.assertThat;

import io.marchproxy.wasm.FilterHost.Exchange;
import io.marchproxy.wasm.FilterHost.Filter;
import io.marchproxy.wasm.FilterHost.Request;
import java.io.ByteArrayOutputStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The auth filter's own JWT readers (strict base64url, a JSON reader that takes only the claims it
 * needs, decision 0204) on the edges of the grammar, every token validly signed so the reader is
 * what decides. What they must accept and refuse is what serde_json and the base64 crate did before
 * them; wasm/filters/json-fuzz checks the same differentially on millions of documents.
 */
class JwtReaderTest {
  private static FilterHost auth;

  @BeforeAll
  static void start() throws Exception {
    auth = FilterHost.start(Filter.AUTH, CONFIG);
  }

  @AfterAll
  static void stop() {
    auth.close();
  }

  static final String HEADER = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
  static final String ISS = "\"iss\":\"https://id.marchproxy.example\"";
  static final String AUD = "\"aud\":\"orders-api\"";

  /** Claims with the required iss/aud and a valid exp, plus {@code extra} members. */
  static String with(String extra) {
    return claimsWith("{\"sub\":\"alice\"," + ISS + "," + AUD + ",\"exp\":NOW+600," + extra + "}");
  }

  static Exchange send(String token) {
    return auth.send(Request.get("/orders/42").withHeader("authorization", "Bearer " + token));
  }

  static Exchange signed(String header, String claims) {
    return send(Jwt.signWithHeader("HS256", NEW_KEY, header, claims));
  }

  static Exchange signedRaw(String header, byte[] claims) {
    return send(Jwt.signRaw("HS256", NEW_KEY, Jwt.segment(header) + "." + Jwt.segment(claims)));
  }

  /** name, header JSON, claims JSON, status, reason (null when forwarded). */
  static Stream<Arguments> documents() {
    String nested126 = "[".repeat(126) + "]".repeat(126);
    String nested127 = "[".repeat(127) + "]".repeat(127);
    return Stream.of(
        Arguments.of(
            "alg spelled with escapes",
            "{\"alg\":\"HS\\u0032\\u00356\"}",
            with("\"x\":1"),
            200,
            null),
        Arguments.of(
            "kid spelled with escapes",
            "{\"alg\":\"HS256\",\"kid\":\"2026-0\\u0032\"}",
            with("\"x\":1"),
            200,
            null),
        Arguments.of(
            "escaped slashes in iss",
            HEADER,
            claimsWith(
                "{\"sub\":\"alice\",\"iss\":\"https:\\/\\/id.marchproxy.example\","
                    + AUD
                    + ",\"exp\":NOW+600}"),
            200,
            null),
        Arguments.of(
            "member names with escapes",
            HEADER,
            claimsWith(
                "{\"s\\u0075b\":\"alice\","
                    + ISS
                    + ",\"\\u0061ud\":\"orders-api\",\"e\\u0078p\":NOW+600}"),
            200,
            null),
        Arguments.of(
            "whitespace everywhere",
            " \t{ \"alg\" :\r\n\"HS256\" } \n",
            claimsWith(
                "\n{ \"sub\" : \"alice\" ,\t" + ISS + " ,\r" + AUD + ", \"exp\" :\nNOW+600 }\t "),
            200,
            null),
        Arguments.of(
            "exp with an exponent",
            HEADER,
            claimsWith("{" + ISS + "," + AUD + ",\"exp\":4.1e9}"),
            200,
            null),
        Arguments.of(
            "exp as a fraction",
            HEADER,
            claimsWith("{" + ISS + "," + AUD + ",\"exp\":NOW+600.25}"),
            200,
            null),
        Arguments.of(
            "exp of -0 is 1970",
            HEADER,
            claimsWith("{" + ISS + "," + AUD + ",\"exp\":-0}"),
            403,
            "token_expired"),
        Arguments.of(
            "duplicate exp: the last one counts (valid)",
            HEADER,
            claimsWith("{" + ISS + "," + AUD + ",\"exp\":NOW-3600,\"exp\":NOW+600}"),
            200,
            null),
        Arguments.of(
            "duplicate exp: the last one counts (expired)",
            HEADER,
            claimsWith("{" + ISS + "," + AUD + ",\"exp\":NOW+600,\"exp\":NOW-3600}"),
            403,
            "token_expired"),
        Arguments.of(
            "duplicate alg: the last one counts",
            "{\"alg\":\"HS256\",\"alg\":\"none\"}",
            with("\"x\":1"),
            403,
            "algorithm_not_allowed"),
        Arguments.of(
            "alg that is not a string", "{\"alg\":256}", with("\"x\":1"), 403, "malformed_token"),
        Arguments.of(
            "kid that is not a string",
            "{\"alg\":\"HS256\",\"kid\":7}",
            with("\"x\":1"),
            403,
            "malformed_token"),
        Arguments.of(
            "aud list with other kinds",
            HEADER,
            claimsWith(
                "{\"sub\":\"alice\","
                    + ISS
                    + ",\"aud\":[1,{\"a\":\"orders-api\"},null,\"orders-api\"],\"exp\":NOW+600}"),
            200,
            null),
        Arguments.of(
            "aud that is an object",
            HEADER,
            claimsWith(
                "{\"sub\":\"alice\"," + ISS + ",\"aud\":{\"orders-api\":1},\"exp\":NOW+600}"),
            403,
            "wrong_audience"),
        Arguments.of(
            "iss with an escape that changes it",
            HEADER,
            claimsWith(
                "{\"sub\":\"alice\",\"iss\":\"https://id.marchproxy.exampl\\u0065x\","
                    + AUD
                    + ",\"exp\":NOW+600}"),
            403,
            "wrong_issuer"),
        Arguments.of(
            "unicode: raw, escaped, surrogate pair",
            HEADER,
            with("\"n\":\"é😀\\u00e9\\ud83d\\ude00\\uFFFF\""),
            200,
            null),
        Arguments.of(
            "every kind of value",
            HEADER,
            with("\"v\":[true,false,null,-1.5E-3,0,{},[],{\"a\":[{}]},\"\"]"),
            200,
            null),
        Arguments.of(
            "126 nested arrays in a claim (127 levels)",
            HEADER,
            with("\"deep\":" + nested126),
            200,
            null),
        Arguments.of(
            "127 nested arrays in a claim (128 levels)",
            HEADER,
            with("\"deep\":" + nested127),
            403,
            "malformed_token"),
        Arguments.of(
            "lone low surrogate", HEADER, with("\"n\":\"\\udc00\""), 403, "malformed_token"),
        Arguments.of(
            "high surrogate without its pair",
            HEADER,
            with("\"n\":\"\\ud83d x\""),
            403,
            "malformed_token"),
        Arguments.of(
            "high surrogate before another escape",
            HEADER,
            with("\"n\":\"\\ud83d\\n\""),
            403,
            "malformed_token"),
        Arguments.of(
            "high surrogate before a non-surrogate",
            HEADER,
            with("\"n\":\"\\ud83d\\u0041\""),
            403,
            "malformed_token"),
        Arguments.of("short \\u escape", HEADER, with("\"n\":\"\\u12\""), 403, "malformed_token"),
        Arguments.of("unknown escape", HEADER, with("\"n\":\"\\x41\""), 403, "malformed_token"),
        Arguments.of("raw tab in a string", HEADER, with("\"n\":\"a\tb\""), 403, "malformed_token"),
        Arguments.of(
            "raw newline in a member name", HEADER, with("\"n\nm\":1"), 403, "malformed_token"),
        Arguments.of(
            "trailing comma in the object", HEADER, with("\"x\":1,"), 403, "malformed_token"),
        Arguments.of(
            "trailing comma in an array", HEADER, with("\"x\":[1,]"), 403, "malformed_token"),
        Arguments.of("missing comma", HEADER, with("\"x\":1 \"y\":2"), 403, "malformed_token"),
        Arguments.of("missing colon", HEADER, with("\"x\" 1"), 403, "malformed_token"),
        Arguments.of("bare member name", HEADER, with("x:1"), 403, "malformed_token"),
        Arguments.of("single quotes", HEADER, with("'x':1"), 403, "malformed_token"),
        Arguments.of(
            "text after the object", HEADER, with("\"x\":1") + " {}", 403, "malformed_token"),
        Arguments.of("leading zero", HEADER, with("\"x\":01"), 403, "malformed_token"),
        Arguments.of("number ending in a dot", HEADER, with("\"x\":1."), 403, "malformed_token"),
        Arguments.of(
            "number starting with a dot", HEADER, with("\"x\":.5"), 403, "malformed_token"),
        Arguments.of("plus sign", HEADER, with("\"x\":+1"), 403, "malformed_token"),
        Arguments.of("exponent without digits", HEADER, with("\"x\":1e"), 403, "malformed_token"),
        Arguments.of(
            "number beyond f64 in another claim",
            HEADER,
            with("\"x\":1e400"),
            403,
            "malformed_token"),
        Arguments.of(
            "exp beyond f64",
            HEADER,
            claimsWith("{" + ISS + "," + AUD + ",\"exp\":1e999}"),
            403,
            "malformed_token"),
        Arguments.of("NaN", HEADER, with("\"x\":NaN"), 403, "malformed_token"),
        Arguments.of("Infinity", HEADER, with("\"x\":-Infinity"), 403, "malformed_token"),
        Arguments.of("misspelled literal", HEADER, with("\"x\":tru"), 403, "malformed_token"),
        Arguments.of(
            "unclosed string",
            HEADER,
            claimsWith("{" + ISS + "," + AUD + ",\"exp\":NOW+600,\"x\":\"abc}"),
            403,
            "malformed_token"),
        Arguments.of(
            "unclosed array",
            HEADER,
            claimsWith("{" + ISS + "," + AUD + ",\"exp\":NOW+600,\"x\":[1}"),
            403,
            "malformed_token"),
        Arguments.of("only whitespace", HEADER, "   ", 403, "malformed_token"),
        Arguments.of(
            "header that is a string", "\"HS256\"", with("\"x\":1"), 403, "malformed_token"));
  }

  @ParameterizedTest(name = "{0} -> {3}")
  @MethodSource("documents")
  void readsTheGrammarStrictly(
      String name, String header, String claims, int status, String reason) {
    Exchange exchange = signed(header, claims);

    assertThat(exchange.status()).isEqualTo(status);
    if (reason != null) {
      assertThat(exchange.body()).contains("\"reason\":\"" + reason + "\"");
    }
  }

  @Test
  void refusesClaimsThatAreNotUtf8() {
    String valid = with("\"n\":\"XY\"");
    int at = valid.indexOf("XY");
    for (byte[] bad :
        new byte[][] {
          {(byte) 0xff},
          {(byte) 0xc0, (byte) 0x80},
          {(byte) 0xed, (byte) 0xa0, (byte) 0x80},
          {(byte) 0xc3}
        }) {
      var raw = new ByteArrayOutputStream();
      raw.writeBytes(bytes(valid.substring(0, at)));
      raw.writeBytes(bad);
      raw.writeBytes(bytes(valid.substring(at + 2)));
      Exchange exchange = signedRaw(HEADER, raw.toByteArray());
      assertThat(exchange.status()).isEqualTo(403);
      assertThat(exchange.body()).contains("malformed_token");
    }
  }

  @Test
  void decodesTheSubjectForThePrincipalHeader() {
    Exchange exchange =
        signed(
            HEADER,
            claimsWith(
                "{\"sub\":\"al\\u0069ce\\n\\t é"
                    + "x".repeat(300)
                    + "\","
                    + ISS
                    + ","
                    + AUD
                    + ",\"exp\":NOW+600}"));

    // Escapes decoded, then only visible ASCII and spaces kept, at most 256 characters.
    assertThat(exchange.upstreamRequestHeaders().get("x-marchproxy-principal"))
        .isEqualTo("jwt:alice " + "x".repeat(250));
    assertThat(
            signed(HEADER, claimsWith("{\"sub\":42," + ISS + "," + AUD + ",\"exp\":NOW+600}"))
                .upstreamRequestHeaders()
                .get("x-marchproxy-principal"))
        .isEqualTo("jwt:");
  }

  @Test
  void aTokenAcceptedBeforeIsNotAcceptedWhenAnyOfItsBytesDiffers() {
    // The first request stores the token in the filter's cache of accepted JWTs; every one-byte
    // change must still be refused (the cache compares whole tokens, decision 0204).
    String good = Jwt.sign("HS256", NEW_KEY, "2026-02", with("\"jti\":\"cache-1\""));
    assertThat(send(good).status()).isEqualTo(200);
    for (int at = 0; at < good.length(); at++) {
      char original = good.charAt(at);
      char changed = original == 'A' ? 'B' : original == '.' ? '-' : 'A';
      String mutated = good.substring(0, at) + changed + good.substring(at + 1);
      assertThat(send(mutated).status()).as("byte %d", at).isEqualTo(403);
    }
    assertThat(send(good).status()).isEqualTo(200);
  }

  @Test
  void aCachedTokenStillExpiresAndItsKeyStillRetires() throws Exception {
    long now = AuthFilterTest.now();
    String config =
        """
        {"jwt": {"leeway_seconds": 0, "require_expiry": false, "keys": [
           {"id": "short", "algorithm": "HS256", "secret_base64": "%s", "expires_at": %d},
           {"id": "long", "algorithm": "HS256", "secret_base64": "%s"}]}}
        """
            .formatted(
                AuthFilterTest.b64(AuthFilterTest.OLD_KEY), now + 3, AuthFilterTest.b64(NEW_KEY));
    try (FilterHost host = FilterHost.start(Filter.AUTH, config)) {
      java.util.function.Function<String, Exchange> call =
          token -> host.send(Request.get("/orders").withHeader("authorization", "Bearer " + token));
      String expiring =
          Jwt.sign("HS256", NEW_KEY, "long", "{\"sub\":\"a\",\"exp\":" + (now + 3) + "}");
      String notYet =
          Jwt.sign("HS256", NEW_KEY, "long", "{\"sub\":\"b\",\"nbf\":" + (now + 3) + "}");
      String retiringKey = Jwt.sign("HS256", AuthFilterTest.OLD_KEY, "short", "{\"sub\":\"c\"}");
      assertThat(call.apply(expiring).status()).isEqualTo(200);
      assertThat(call.apply(expiring).status()).isEqualTo(200);
      assertThat(call.apply(retiringKey).status()).isEqualTo(200);
      assertThat(call.apply(retiringKey).status()).isEqualTo(200);
      assertThat(call.apply(notYet).body()).contains("token_not_yet_valid");

      Thread.sleep(4_500);

      assertThat(call.apply(expiring).body()).contains("token_expired");
      assertThat(call.apply(retiringKey).body()).contains("bad_signature");
      assertThat(call.apply(notYet).status()).isEqualTo(200);
      assertThat(call.apply(notYet).status()).isEqualTo(200);
    }
  }

  @Test
  void acceptsClaimsOfEveryLength() {
    // Every length of the claims segment modulo 4 (and of its final group) decodes.
    for (int pad = 0; pad < 24; pad++) {
      Exchange exchange = signed(HEADER, with("\"pad\":\"" + "p".repeat(pad) + "\""));
      assertThat(exchange.status()).as("pad %d", pad).isEqualTo(200);
    }
  }

  @Test
  void refusesBase64urlWithUnusedBitsSetOrAnImpossibleLength() {
    String alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    int tested = 0;
    for (int pad = 0; pad < 8; pad++) {
      String claims = Jwt.segment(with("\"pad\":\"" + "p".repeat(pad) + "\""));
      int unusedBits =
          switch (claims.length() % 4) {
            case 2 -> 4;
            case 3 -> 2;
            default -> 0;
          };
      if (unusedBits > 0) {
        // Same bytes, but a low bit the decoder must ignore is set: not the one valid encoding.
        int last = alphabet.indexOf(claims.charAt(claims.length() - 1));
        String altered = claims.substring(0, claims.length() - 1) + alphabet.charAt(last | 1);
        Exchange exchange =
            send(Jwt.signRaw("HS256", NEW_KEY, Jwt.segment(HEADER) + "." + altered));
        assertThat(exchange.status()).isEqualTo(403);
        assertThat(exchange.body()).contains("malformed_token");
        tested++;
      }
      if (claims.length() % 4 == 0) {
        Exchange exchange =
            send(Jwt.signRaw("HS256", NEW_KEY, Jwt.segment(HEADER) + "." + claims + "A"));
        assertThat(exchange.status()).isEqualTo(403);
        assertThat(exchange.body()).contains("malformed_token");
        tested++;
      }
    }
    assertThat(tested).isGreaterThanOrEqualTo(6);
  }
}
