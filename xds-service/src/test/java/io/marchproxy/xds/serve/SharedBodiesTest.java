package io.marchproxy.xds.serve;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.Any;
import com.google.protobuf.Duration;
import com.google.protobuf.Message;
import com.google.protobuf.UnknownFieldSet;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.ControlPlane;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.Drainable;
import io.grpc.KnownLength;
import io.grpc.MethodDescriptor;
import io.grpc.ServerMethodDefinition;
import io.grpc.ServerServiceDefinition;
import io.marchproxy.xds.cache.ResourceSet;
import io.marchproxy.xds.cache.SnapshotCache;
import io.marchproxy.xds.cache.TypeUrls;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.Test;

/** The serialize-once response marshaller, on its own: bytes, keys and the rebound service. */
class SharedBodiesTest {

  static ResourceSet clusters(int n, int timeoutSeconds) {
    Map<String, Message> byName = new LinkedHashMap<>();
    for (int i = 0; i < n; i++) {
      String name = "svc-" + i;
      byName.put(
          name,
          Cluster.newBuilder()
              .setName(name)
              .setConnectTimeout(Duration.newBuilder().setSeconds(timeoutSeconds))
              .build());
    }
    return ResourceSet.of(TypeUrls.CLUSTER, byName);
  }

  static DiscoveryResponse response(String version, List<Any> resources, String nonce) {
    return DiscoveryResponse.newBuilder()
        .setVersionInfo(version)
        .addAllResources(resources)
        .setTypeUrl(TypeUrls.CLUSTER)
        .setNonce(nonce)
        .build();
  }

  static byte[] wire(SharedBodies bodies, DiscoveryResponse r) throws IOException {
    try (InputStream in = bodies.marshaller().stream(r)) {
      assertThat(in).isInstanceOf(KnownLength.class).isInstanceOf(Drainable.class);
      var out = new ByteArrayOutputStream();
      int available = in.available();
      int drained = ((Drainable) in).drainTo(out);
      assertThat(drained).isEqualTo(available).isEqualTo(out.size());
      assertThat(in.available()).isZero();
      assertThat(in.read()).isEqualTo(-1);
      return out.toByteArray();
    }
  }

  @Test
  void streamsOfTheSameSelectionGetTheSameBodyEachWithItsOwnNonce() throws Exception {
    SharedBodies bodies = new SharedBodies();
    ResourceSet set = clusters(50, 1);
    DiscoveryResponse a = response(set.version(), set.all().packed(), "7");
    DiscoveryResponse b = response(set.version(), set.all().packed(), "1234");

    byte[] wa = wire(bodies, a);
    byte[] wb = wire(bodies, b);

    assertThat(bodies.body(a)).isSameAs(bodies.body(b));
    assertThat(bodies.size()).isEqualTo(1);
    byte[] body = bodies.body(a);
    assertThat(Arrays.copyOf(wa, body.length)).isEqualTo(body);
    assertThat(Arrays.copyOf(wb, body.length)).isEqualTo(body);
    assertThat(Arrays.copyOfRange(wa, body.length, wa.length))
        .isEqualTo(SharedBodies.nonceField("7"));
    assertThat(Arrays.copyOfRange(wb, body.length, wb.length))
        .isEqualTo(SharedBodies.nonceField("1234"));
    // What a client decodes is exactly the response the server built, nonce included.
    assertThat(DiscoveryResponse.parseFrom(wa)).isEqualTo(a);
    assertThat(DiscoveryResponse.parseFrom(wb)).isEqualTo(b);
    assertThat(bodies.marshaller().parse(new java.io.ByteArrayInputStream(wb))).isEqualTo(b);
  }

  @Test
  void aDifferentSelectionVersionOrTypeOrPackingIsNeverServedAnotherBody() throws Exception {
    SharedBodies bodies = new SharedBodies();
    ResourceSet set = clusters(20, 1);
    List<Any> all = set.all().packed();
    DiscoveryResponse full = response(set.version(), all, "1");
    List<DiscoveryResponse> others =
        List.of(
            response(set.version(), all.subList(0, 19), "1"), // one resource fewer
            response(set.version(), all.subList(1, 20), "1"), // another one fewer
            response(set.version(), reversed(all), "1"), // same resources, other order
            response("other-version", all, "1"),
            full.toBuilder().setTypeUrl(TypeUrls.ENDPOINT).build(),
            full.toBuilder().setCanary(true).build(),
            full.toBuilder()
                .setControlPlane(ControlPlane.newBuilder().setIdentifier("replica-2"))
                .build(),
            // equal content, packed afresh: not the same objects, so not trusted to be the same
            response(set.version(), clusters(20, 1).all().packed(), "1"),
            // a changed resource under the same name and an unchanged version string
            response(set.version(), clusters(20, 2).all().packed(), "1"),
            response(set.version(), List.of(), "1"));
    assertThat(DiscoveryResponse.parseFrom(wire(bodies, full))).isEqualTo(full);
    for (DiscoveryResponse other : others) {
      assertThat(DiscoveryResponse.parseFrom(wire(bodies, other))).isEqualTo(other);
      assertThat(bodies.body(other)).isNotSameAs(bodies.body(full));
    }
    assertThat(bodies.size()).isEqualTo(1 + others.size());
  }

  private static List<Any> reversed(List<Any> list) {
    var copy = new java.util.ArrayList<>(list);
    java.util.Collections.reverse(copy);
    return copy;
  }

  @Test
  void aBodyTakingMostOfTheBoundIsStillShared() throws Exception {
    ResourceSet set = clusters(5_000, 1);
    DiscoveryResponse a = response(set.version(), set.all().packed(), "1");
    DiscoveryResponse b = response(set.version(), set.all().packed(), "2");
    int size = a.toBuilder().clearNonce().build().getSerializedSize();
    SharedBodies bodies = new SharedBodies(3L * size); // counted twice: 2/3 of the bound
    assertThat(bodies.body(a)).isSameAs(bodies.body(b));
    assertThat(bodies.size()).isEqualTo(1);
    // a second such body does not fit next to it: the older one goes, the newer is still shared
    ResourceSet next = clusters(5_000, 2);
    DiscoveryResponse c = response(next.version(), next.all().packed(), "3");
    DiscoveryResponse d = response(next.version(), next.all().packed(), "4");
    assertThat(bodies.body(c)).isSameAs(bodies.body(d));
    assertThat(bodies.size()).isEqualTo(1);
    assertThat(DiscoveryResponse.parseFrom(wire(bodies, d))).isEqualTo(d);
  }

  @Test
  void fieldsItDoesNotKnowAreKeptAndKeyed() throws Exception {
    SharedBodies bodies = new SharedBodies();
    ResourceSet set = clusters(3, 1);
    DiscoveryResponse plain = response(set.version(), set.all().packed(), "9");
    DiscoveryResponse withUnknown =
        plain.toBuilder()
            .setUnknownFields(
                UnknownFieldSet.newBuilder()
                    .addField(99, UnknownFieldSet.Field.newBuilder().addVarint(42).build())
                    .build())
            .build();
    assertThat(DiscoveryResponse.parseFrom(wire(bodies, withUnknown))).isEqualTo(withUnknown);
    assertThat(DiscoveryResponse.parseFrom(wire(bodies, plain))).isEqualTo(plain);
    assertThat(bodies.body(plain)).isNotSameAs(bodies.body(withUnknown));
  }

  @Test
  void noNonceAddsNoField() throws Exception {
    SharedBodies bodies = new SharedBodies();
    ResourceSet set = clusters(2, 1);
    DiscoveryResponse r = response(set.version(), set.all().packed(), "");
    assertThat(SharedBodies.nonceField("")).isEmpty();
    assertThat(wire(bodies, r)).isEqualTo(bodies.body(r));
    assertThat(DiscoveryResponse.parseFrom(wire(bodies, r))).isEqualTo(r);
  }

  @Test
  void readingTheStreamInAnyChunksGivesTheDrainedBytes() throws Exception {
    SharedBodies bodies = new SharedBodies();
    ResourceSet set = clusters(30, 1);
    DiscoveryResponse r = response(set.version(), set.all().packed(), "nonce-ü-42");
    byte[] drained = wire(bodies, r);
    for (int chunk : new int[] {1, 7, 4096}) {
      try (InputStream in = bodies.marshaller().stream(r)) {
        var out = new ByteArrayOutputStream();
        byte[] buf = new byte[chunk];
        int n;
        while ((n = chunk == 1 ? single(in, buf) : in.read(buf, 0, buf.length)) != -1) {
          out.write(buf, 0, n);
        }
        assertThat(out.toByteArray()).as("chunks of %d", chunk).isEqualTo(drained);
        assertThat(in.read(buf, 0, 0)).isZero();
      }
    }
    // part read, the rest drained; and skipping
    try (InputStream in = bodies.marshaller().stream(r)) {
      byte[] head = in.readNBytes(drained.length - 3);
      var rest = new ByteArrayOutputStream();
      ((Drainable) in).drainTo(rest);
      assertThat(rest.toByteArray())
          .isEqualTo(Arrays.copyOfRange(drained, drained.length - 3, drained.length));
      assertThat(head).isEqualTo(Arrays.copyOf(drained, drained.length - 3));
    }
    try (InputStream in = bodies.marshaller().stream(r)) {
      assertThat(in.skip(5)).isEqualTo(5);
      assertThat(in.skip(Long.MAX_VALUE)).isEqualTo(drained.length - 5);
      assertThat(in.read()).isEqualTo(-1);
    }
  }

  private static int single(InputStream in, byte[] buf) throws IOException {
    int b = in.read();
    if (b < 0) {
      return -1;
    }
    buf[0] = (byte) b;
    return 1;
  }

  @Test
  void onlyTheStateOfTheWorldMethodIsReboundAndTheServiceStaysDescribed() {
    var pool = Executors.newSingleThreadExecutor();
    SnapshotCache cache = new SnapshotCache(node -> "g", pool);
    ServerServiceDefinition ads = AdsServing.definition(cache, List.of());
    pool.shutdownNow();
    String sotw =
        AggregatedDiscoveryServiceGrpc.getStreamAggregatedResourcesMethod().getFullMethodName();
    String delta =
        AggregatedDiscoveryServiceGrpc.getDeltaAggregatedResourcesMethod().getFullMethodName();
    assertThat(ads.getMethods())
        .extracting(m -> m.getMethodDescriptor().getFullMethodName())
        .containsExactlyInAnyOrder(sotw, delta);
    ServerMethodDefinition<?, ?> s = ads.getMethod(sotw);
    MethodDescriptor.Marshaller<?> marshaller = s.getMethodDescriptor().getResponseMarshaller();
    assertThat(marshaller.getClass().getEnclosingClass()).isEqualTo(SharedBodies.class);
    assertThat(ads.getMethod(delta).getMethodDescriptor().getResponseMarshaller())
        .isSameAs(
            AggregatedDiscoveryServiceGrpc.getDeltaAggregatedResourcesMethod()
                .getResponseMarshaller());
    assertThat(ads.getServiceDescriptor().getSchemaDescriptor())
        .isSameAs(AggregatedDiscoveryServiceGrpc.getServiceDescriptor().getSchemaDescriptor());
  }
}
