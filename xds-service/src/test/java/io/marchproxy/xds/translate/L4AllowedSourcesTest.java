package io.marchproxy.xds.translate;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/**
 * allowedSources.services becomes the named services' endpoint addresses (golden case l4-tcp shows
 * the rendering); only literal addresses qualify, a hostname has no fixed address.
 */
class L4AllowedSourcesTest {

  @Test
  void onlyLiteralAddressesBecomeSourceRanges() {
    assertThat(L4Translation.isIpLiteral("10.7.2.1")).isTrue();
    assertThat(L4Translation.isIpLiteral("2001:db8::7")).isTrue();
    assertThat(L4Translation.isIpLiteral("::1")).isTrue();
    assertThat(L4Translation.isIpLiteral("256.1.1.1")).isFalse();
    assertThat(L4Translation.isIpLiteral("10.7.2")).isFalse();
    assertThat(L4Translation.isIpLiteral("reporting.internal")).isFalse();
    assertThat(L4Translation.isIpLiteral("db-1")).isFalse();
  }
}
