package io.marchproxy.core.license;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.micronaut.json.JsonMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The licensing CLI: a key pair, a minted key, and that the product verifies it offline. */
class LicenseMintTest {

  @TempDir Path dir;

  private static LicenseVerifier verifier(String publicKey, Instant now) {
    return new LicenseVerifier(
        publicKey,
        JsonMapper.createDefault(),
        Clock.fixed(now, ZoneOffset.UTC),
        Duration.ofDays(14));
  }

  @Test
  void mintsKeysTheVerifierAccepts() throws Exception {
    assertThat(LicenseMint.run(new String[] {"keypair", dir.toString()}))
        .contains("public-key.b64");
    String key =
        LicenseMint.run(
            new String[] {
              "mint",
              "--private-key",
              dir.resolve("private-key.b64").toString(),
              "--customer",
              "Acme \"Corp\"",
              "--edition",
              "enterprise",
              "--max-proxies",
              "250",
              "--max-clusters",
              "20",
              "--features",
              "waf, sso",
              "--expires",
              "2030-01-31"
            });
    var v =
        verifier(
            Files.readString(dir.resolve("public-key.b64")), Instant.parse("2029-06-01T00:00:00Z"));
    LicenseClaims claims = v.verify(key);
    assertThat(claims.customer()).isEqualTo("Acme \"Corp\"");
    assertThat(claims.features()).containsExactly("waf", "sso");
    License l = v.effective(key);
    assertThat(l.status()).isEqualTo("valid");
    assertThat(l.maxProxies()).isEqualTo(250);
    assertThat(l.expiresAt()).isEqualTo(Instant.parse("2030-01-31T00:00:00Z"));

    // Tampering with the payload breaks the signature.
    String[] parts = key.split("\\.");
    String forged =
        parts[0] + "." + parts[1].substring(0, parts[1].length() - 2) + "AA." + parts[2];
    assertThatThrownBy(() -> v.verify(forged))
        .as("the last verified key is remembered; a different one is verified afresh")
        .isInstanceOf(LicenseVerifier.InvalidLicenseException.class);
    assertThat(v.verify(key)).isEqualTo(claims);
  }

  @Test
  void badArgumentsAreUsageErrors() {
    assertThatThrownBy(() -> LicenseMint.run(new String[] {}))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> LicenseMint.run(new String[] {"mint", "--customer", "x"}))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("--private-key is required");
    assertThatThrownBy(
            () ->
                LicenseMint.run(
                    new String[] {
                      "mint",
                      "--private-key",
                      "k",
                      "--customer",
                      "c",
                      "--edition",
                      "e",
                      "--max-proxies",
                      "-1",
                      "--max-clusters",
                      "1",
                      "--expires",
                      "2030-01-01"
                    }))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("--max-proxies must be a positive number");
    assertThatThrownBy(() -> LicenseMint.run(new String[] {"frobnicate"}))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("unknown command");
  }

  @Test
  void theBuiltInKeyRejectsTestSignedLicenses() throws Exception {
    LicenseMint.run(new String[] {"keypair", dir.toString()});
    String key =
        LicenseMint.run(
            new String[] {
              "mint",
              "--private-key",
              dir.resolve("private-key.b64").toString(),
              "--customer",
              "x",
              "--edition",
              "enterprise",
              "--max-proxies",
              "5",
              "--max-clusters",
              "5",
              "--expires",
              "2030-01-01"
            });
    var builtIn = verifier(null, Instant.parse("2029-01-01T00:00:00Z"));
    assertThat(builtIn.effective(key).status()).isEqualTo("invalid");
    assertThat(builtIn.effective(key).maxProxies()).isEqualTo(License.COMMUNITY_PROXIES);
    assertThat(builtIn.effective(null).edition()).isEqualTo("community");
  }
}
