package io.marchproxy.xds.translate;

import io.marchproxy.core.config.ClusterConfig;

/**
 * Stage 2, translate: a cluster config document → the Envoy v3 resources one data-plane kind of
 * that cluster should have. Pure: no I/O, no clock, no randomness; the same document gives
 * byte-identical resources, whatever order its lists were in. It never throws on a broken document:
 * it translates what is there (a route to a missing service points at a missing cluster), and
 * {@code io.marchproxy.xds.validate} reports what is wrong.
 */
public final class Translator {

  private Translator() {}

  public static EnvoyResources translate(ClusterConfig config, DataPlane plane) {
    Document doc = Document.of(config);
    return switch (plane) {
      case DataPlane.Envoy envoy -> EnvoyTranslation.translate(doc, envoy);
      case DataPlane.L4 l4 -> L4Translation.translate(doc, l4);
      case DataPlane.Grpc grpc -> GrpcTranslation.translate(doc, grpc);
    };
  }
}
