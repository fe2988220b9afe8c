package io.marchproxy.wasm;

import static org.assertj.core.api.Assertions.assertThat;

import io.marchproxy.wasm.FilterHost.Filter;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The auth module's HMAC (RustCrypto hmac + sha2, compiled to wasm) against RFC 4231's test vectors
 * and against the JDK on generated inputs.
 */
class HmacConformanceTest {
  private static final HexFormat HEX = HexFormat.of();
  private static FilterHost auth;

  @BeforeAll
  static void start() throws Exception {
    auth = FilterHost.start(Filter.AUTH, AuthFilterTest.CONFIG);
  }

  @AfterAll
  static void stop() {
    auth.close();
  }

  static byte[] repeat(int value, int count) {
    byte[] out = new byte[count];
    java.util.Arrays.fill(out, (byte) value);
    return out;
  }

  static byte[] ascii(String text) {
    return text.getBytes(StandardCharsets.US_ASCII);
  }

  static byte[] counting(int from, int to) {
    byte[] out = new byte[to - from + 1];
    for (int i = 0; i < out.length; i++) {
      out[i] = (byte) (from + i);
    }
    return out;
  }

  /** RFC 4231 section 4: test case, key, data, and the expected HMAC-SHA-256/384/512. */
  static Stream<Arguments> rfc4231() {
    byte[] bigKey = repeat(0xaa, 131);
    return Stream.of(
        Arguments.of(
            "case 1",
            repeat(0x0b, 20),
            ascii("Hi There"),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
            "afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59cfaea9ea9076ede7f4af152e8b2fa9cb6",
            "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cdedaa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854"),
        Arguments.of(
            "case 2 (key shorter than the output)",
            ascii("Jefe"),
            ascii("what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
            "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e8e2240ca5e69e2c78b3239ecfab21649",
            "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737"),
        Arguments.of(
            "case 3",
            repeat(0xaa, 20),
            repeat(0xdd, 50),
            "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe",
            "88062608d3e6ad8a0aa2ace014c8a86f0aa635d947ac9febe83ef4e55966144b2a5ab39dc13814b94e3ab6e101a34f27",
            "fa73b0089d56a284efb0f0756c890be9b1b5dbdd8ee81a3655f83e33b2279d39bf3e848279a722c806b485a47e67c807b946a337bee8942674278859e13292fb"),
        Arguments.of(
            "case 4",
            counting(0x01, 0x19),
            repeat(0xcd, 50),
            "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b",
            "3e8a69b7783c25851933ab6290af6ca77a9981480850009cc5577c6e1f573b4e6801dd23c4a7d679ccf8a386c674cffb",
            "b0ba465637458c6990e5a8c5f61d4af7e576d97ff94b872de76f8050361ee3dba91ca5c11aa25eb4d679275cc5788063a5f19741120c4f2de2adebeb10a298dd"),
        Arguments.of(
            "case 5 (truncated to 128 bits)",
            repeat(0x0c, 20),
            ascii("Test With Truncation"),
            "a3b6167473100ee06e0c796c2955552b",
            "3abf34c3503b2a23a46efc619baef897",
            "415fad6271580a531d4179bc891d87a6"),
        Arguments.of(
            "case 6 (key larger than the block)",
            bigKey,
            ascii("Test Using Larger Than Block-Size Key - Hash Key First"),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
            "4ece084485813e9088d2c63a041bc5b44f9ef1012a2b588f3cd11f05033ac4c60c2ef6ab4030fe8296248df163f44952",
            "80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f3526b56d037e05f2598bd0fd2215d6a1e5295e64f73f63f0aec8b915a985d786598"),
        Arguments.of(
            "case 7 (key and data larger than the block)",
            bigKey,
            ascii(
                "This is a test using a larger than block-size key and a larger than block-size data."
                    + " The key needs to be hashed before being used by the HMAC algorithm."),
            "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
            "6617178e941f020d351e2f254e8fd32c602420feb0b8fb9adccebb82461e99c5a678cc31e799176d3860e6110c46523e",
            "e37b6a775dc87dbaa4dfa9f96e5e3ffddebd71f8867289865df5a32d20cdc944b6022cac3c4982b10d5eeb55c3e4de15134676fb6de0446065c97440fa8c6a58"));
  }

  @ParameterizedTest(name = "RFC 4231 {0}")
  @MethodSource("rfc4231")
  void matchesRfc4231(
      String name, byte[] key, byte[] data, String sha256, String sha384, String sha512) {
    assertThat(prefix(auth.selftestHmac(256, key, data), sha256)).isEqualTo(sha256);
    assertThat(prefix(auth.selftestHmac(384, key, data), sha384)).isEqualTo(sha384);
    assertThat(prefix(auth.selftestHmac(512, key, data), sha512)).isEqualTo(sha512);
    // The JDK, the reference for the JWT tests, agrees with the RFC too.
    assertThat(prefix(Jwt.hmac("HS256", key, data), sha256)).isEqualTo(sha256);
  }

  private static String prefix(byte[] mac, String expected) {
    return HEX.formatHex(mac).substring(0, expected.length());
  }

  /**
   * Every message length across the padding edges of 64- and 128-byte blocks, and key lengths
   * below, at and above the block size (keys longer than a block are hashed first).
   */
  @Test
  void agreesWithTheJdkAtEveryLengthAroundTheBlockBoundaries() {
    var random = new Random(180_4);
    for (int length = 0; length <= 300; length++) {
      byte[] message = new byte[length];
      byte[] key = new byte[1 + (length * 7) % 200];
      random.nextBytes(message);
      random.nextBytes(key);
      for (var alg : new String[] {"HS256", "HS384", "HS512"}) {
        int bits = Integer.parseInt(alg.substring(2));
        assertThat(auth.selftestHmac(bits, key, message))
            .as("%s, key %d bytes, message %d bytes", alg, key.length, length)
            .isEqualTo(Jwt.hmac(alg, key, message));
      }
    }
  }

  @Test
  void agreesWithTheJdkOnGeneratedInputs() {
    var random = new Random(4231);
    for (int i = 0; i < 120; i++) {
      byte[] key = new byte[random.nextInt(200)];
      byte[] message = new byte[random.nextInt(600)];
      random.nextBytes(key);
      random.nextBytes(message);
      if (key.length == 0) {
        continue; // javax.crypto refuses an empty key; the filter never configures one either
      }
      for (var alg : new String[] {"HS256", "HS384", "HS512"}) {
        int bits = Integer.parseInt(alg.substring(2));
        assertThat(auth.selftestHmac(bits, key, message))
            .as("%s, key %d bytes, message %d bytes", alg, key.length, message.length)
            .isEqualTo(Jwt.hmac(alg, key, message));
      }
    }
  }
}
