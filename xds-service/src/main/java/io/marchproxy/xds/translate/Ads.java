package io.marchproxy.xds.translate;

import io.envoyproxy.envoy.config.core.v3.AggregatedConfigSource;
import io.envoyproxy.envoy.config.core.v3.ApiVersion;
import io.envoyproxy.envoy.config.core.v3.ConfigSource;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SdsSecretConfig;

/** References to other resources, always fetched over the same ADS stream. */
final class Ads {

  /**
   * V3 explicitly: Envoy refuses the AUTO default ("V2 and AUTO are deprecated"), and grpc-xds
   * accepts both.
   */
  static final ConfigSource CONFIG_SOURCE =
      ConfigSource.newBuilder()
          .setAds(AggregatedConfigSource.getDefaultInstance())
          .setResourceApiVersion(ApiVersion.V3)
          .build();

  private Ads() {}

  static SdsSecretConfig secret(String name) {
    return SdsSecretConfig.newBuilder().setName(name).setSdsConfig(CONFIG_SOURCE).build();
  }
}
