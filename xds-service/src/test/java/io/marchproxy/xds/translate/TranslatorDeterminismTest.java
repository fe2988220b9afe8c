package io.marchproxy.xds.translate;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.Message;
import io.marchproxy.core.config.ClusterConfig;
import io.marchproxy.core.config.MappingSpec;
import io.marchproxy.core.config.RouteSpec;
import io.marchproxy.core.config.ServiceSpec;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * Same document → byte-identical resources, whatever order the document's lists are in: the cache
 * derives xDS versions from these bytes, so any wobble would push config to every proxy.
 */
class TranslatorDeterminismTest {

  @TestFactory
  Stream<DynamicTest> translatingTwiceGivesTheSameBytes() {
    return cases()
        .map(
            c ->
                DynamicTest.dynamicTest(
                    c.name + "." + c.kind,
                    () -> {
                      ClusterConfig doc = GoldenFiles.document(c.name);
                      assertThat(
                              bytes(Translator.translate(doc, GoldenFiles.plane(c.name, c.kind))))
                          .isEqualTo(
                              bytes(Translator.translate(doc, GoldenFiles.plane(c.name, c.kind))));
                    }));
  }

  @TestFactory
  Stream<DynamicTest> shuffledListsGiveTheSameResources() {
    return cases()
        .map(
            c ->
                DynamicTest.dynamicTest(
                    c.name + "." + c.kind,
                    () -> {
                      ClusterConfig doc = GoldenFiles.document(c.name);
                      byte[] expected =
                          bytes(Translator.translate(doc, GoldenFiles.plane(c.name, c.kind)));
                      for (long seed = 1; seed <= 20; seed++) {
                        ClusterConfig shuffled = new Shuffler(new Random(seed)).shuffle(doc);
                        assertThat(
                                bytes(
                                    Translator.translate(
                                        shuffled, GoldenFiles.plane(c.name, c.kind))))
                            .as("seed %d", seed)
                            .isEqualTo(expected);
                      }
                    }));
  }

  private record Case(String name, String kind) {}

  private static Stream<Case> cases() {
    return GoldenFiles.cases().stream()
        .flatMap(n -> GoldenFiles.KINDS.stream().map(k -> new Case(n, k)));
  }

  /** Every resource of every type, in order, serialized the way the cache hashes them. */
  static byte[] bytes(EnvoyResources r) throws IOException {
    var out = new ByteArrayOutputStream();
    List<Message> all = new ArrayList<>();
    all.addAll(r.listeners());
    all.addAll(r.routes());
    all.addAll(r.clusters());
    all.addAll(r.endpoints());
    all.addAll(r.secrets());
    for (Message m : all) {
      CodedOutputStream coded = CodedOutputStream.newInstance(out);
      coded.useDeterministicSerialization();
      m.writeTo(coded);
      coded.flush();
      out.write(0);
    }
    return out.toByteArray();
  }

  /** Reorders every list of a document whose order carries no meaning. */
  private record Shuffler(Random random) {

    ClusterConfig shuffle(ClusterConfig c) {
      return new ClusterConfig(
          c.schema(),
          c.cluster(),
          shuffled(c.services().stream().map(this::service).toList()),
          shuffled(c.routes().stream().map(this::route).toList()),
          shuffled(c.mappings().stream().map(this::mapping).toList()),
          shuffled(
              c.certificates().stream()
                  .map(
                      x ->
                          new ClusterConfig.Certificate(
                              x.id(),
                              x.name(),
                              shuffled(x.sans()),
                              x.fingerprintSha256(),
                              x.notAfter()))
                  .toList()));
    }

    ClusterConfig.Service service(ClusterConfig.Service s) {
      ServiceSpec p = s.spec();
      return new ClusterConfig.Service(
          s.id(),
          s.name(),
          s.protocol(),
          new ServiceSpec(
              shuffled(p.endpoints()),
              p.lbPolicy(),
              p.healthCheck(),
              p.tls(),
              p.timeouts(),
              p.auth()),
          shuffled(s.credentials()));
    }

    ClusterConfig.Route route(ClusterConfig.Route r) {
      RouteSpec p = r.spec();
      RouteSpec.Match m = p.match();
      return new ClusterConfig.Route(
          r.id(),
          r.name(),
          new RouteSpec(
              shuffled(p.hosts()),
              m == null
                  ? null
                  : new RouteSpec.Match(
                      m.pathPrefix(),
                      m.pathExact(),
                      m.pathRegex(),
                      shuffled(m.headers()),
                      shuffled(m.methods())),
              shuffled(p.backends()),
              p.timeoutMs(),
              p.retries() == null
                  ? null
                  : new RouteSpec.Retries(
                      p.retries().attempts(),
                      shuffled(p.retries().on()),
                      p.retries().perTryTimeoutMs()),
              p.auth() == null
                  ? null
                  : new RouteSpec.Auth(p.auth().required(), shuffled(p.auth().exemptPaths())),
              p.feature(),
              p.priority()));
    }

    ClusterConfig.Mapping mapping(ClusterConfig.Mapping m) {
      MappingSpec p = m.spec();
      return new ClusterConfig.Mapping(
          m.id(),
          m.name(),
          m.protocol(),
          m.listenPort(),
          new MappingSpec(
              p.service(),
              p.allowedSources() == null
                  ? null
                  : new MappingSpec.AllowedSources(
                      shuffled(p.allowedSources().cidrs()),
                      shuffled(p.allowedSources().services())),
              p.perSourceLimits(),
              p.bandwidthClass(),
              p.idleTimeoutMs(),
              p.sendProxyProtocol(),
              p.acceptProxyProtocol()));
    }

    <T> List<T> shuffled(List<T> list) {
      if (list == null) {
        return null;
      }
      List<T> copy = new ArrayList<>(list);
      Collections.shuffle(copy, random);
      return copy;
    }
  }
}
