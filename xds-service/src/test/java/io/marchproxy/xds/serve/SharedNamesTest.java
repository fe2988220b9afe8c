package io.marchproxy.xds.serve;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.rpc.Status;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.grpc.StatusRuntimeException;
import io.marchproxy.xds.cache.TypeUrls;
import java.io.ByteArrayInputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * {@link SharedNames}: requests parse exactly as protobuf parses them; equal names share a list.
 */
class SharedNamesTest {

  static List<String> names(int n, String prefix) {
    List<String> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      out.add(prefix + String.format("%04d", i));
    }
    return out;
  }

  static DiscoveryRequest ack(String node, String nonce, List<String> names) {
    return DiscoveryRequest.newBuilder()
        .setVersionInfo("v-" + nonce)
        .setNode(Node.newBuilder().setId(node).setCluster("c"))
        .addAllResourceNames(names)
        .setTypeUrl(TypeUrls.ENDPOINT)
        .setResponseNonce(nonce)
        .build();
  }

  static DiscoveryRequest viaMarshaller(SharedNames shared, byte[] wire) {
    return shared.marshaller().parse(new ByteArrayInputStream(wire));
  }

  @Test
  void requestsWithTheSameNamesShareOneListAndOtherwiseParseAsProtobufDoes() {
    SharedNames shared = new SharedNames();
    DiscoveryRequest a = ack("proxy-1", "1", names(1000, "svc-"));
    DiscoveryRequest b =
        ack("proxy-2", "7", names(1000, "svc-")).toBuilder()
            .setErrorDetail(Status.newBuilder().setCode(3).setMessage("rejected"))
            .build();
    DiscoveryRequest pa = viaMarshaller(shared, a.toByteArray());
    DiscoveryRequest pb = viaMarshaller(shared, b.toByteArray());
    assertThat(pa).isEqualTo(a);
    assertThat(pb).isEqualTo(b);
    assertThat(pb.getResourceNamesList())
        .as("decoded once, the same list object for both")
        .isSameAs(pa.getResourceNamesList());
    assertThat(shared.size()).isEqualTo(1);
  }

  @Test
  void oneChangedNameIsAnotherList() {
    SharedNames shared = new SharedNames();
    List<String> changed = new ArrayList<>(names(1000, "svc-"));
    changed.set(500, "svc-X500");
    DiscoveryRequest a = ack("p", "1", names(1000, "svc-"));
    DiscoveryRequest b = ack("p", "2", changed);
    DiscoveryRequest pa = viaMarshaller(shared, a.toByteArray());
    DiscoveryRequest pb = viaMarshaller(shared, b.toByteArray());
    assertThat(pb).isEqualTo(b);
    assertThat(pb.getResourceNamesList()).isNotSameAs(pa.getResourceNamesList());
    assertThat(pb.getResourceNames(500)).isEqualTo("svc-X500");
    assertThat(shared.size()).isEqualTo(2);
  }

  @Test
  void namesNotInOneRunOrFewNamesAreParsedAsUsualAndNotRemembered() {
    SharedNames shared = new SharedNames();
    // names, then other fields, then more names: concatenated encodings are one valid message
    byte[] first =
        DiscoveryRequest.newBuilder().addAllResourceNames(names(60, "a-")).build().toByteArray();
    byte[] head = ack("p", "1", List.of()).toByteArray();
    byte[] second =
        DiscoveryRequest.newBuilder().addAllResourceNames(names(60, "b-")).build().toByteArray();
    byte[] split = concat(first, head, second);
    DiscoveryRequest parsed = viaMarshaller(shared, split);
    assertThat(parsed.getResourceNamesCount()).isEqualTo(120);
    assertThat(parsed.getResourceNames(0)).isEqualTo("a-0000");
    assertThat(parsed.getResourceNames(60)).isEqualTo("b-0000");
    assertThat(parsed.getResponseNonce()).isEqualTo("1");
    DiscoveryRequest few = ack("p", "2", List.of("svc-1", "svc-2"));
    assertThat(viaMarshaller(shared, few.toByteArray())).isEqualTo(few);
    assertThat(shared.size()).isZero();
  }

  @Test
  void namesAfterTheOtherFieldsAreFoundToo() {
    SharedNames shared = new SharedNames();
    byte[] head = ack("p", "3", List.of()).toByteArray();
    byte[] names =
        DiscoveryRequest.newBuilder().addAllResourceNames(names(200, "svc-")).build().toByteArray();
    DiscoveryRequest parsed = viaMarshaller(shared, concat(head, names));
    assertThat(parsed).isEqualTo(ack("p", "3", names(200, "svc-")));
    assertThat(shared.size()).isEqualTo(1);
  }

  @Test
  void malformedRequestsFailAsWithProtobufsOwnParserAndAreNotRemembered() throws Exception {
    SharedNames shared = new SharedNames();
    byte[] good = ack("p", "1", names(100, "svc-")).toByteArray();
    byte[] truncated = Arrays.copyOf(good, good.length - 1); // the nonce's last byte missing
    assertThatThrownBy(() -> viaMarshaller(shared, truncated))
        .isInstanceOf(StatusRuntimeException.class)
        .hasMessageContaining("INTERNAL")
        .hasCauseInstanceOf(InvalidProtocolBufferException.class);
    // a name that is not UTF-8, in a run long enough to be looked up
    byte[] bad = good.clone();
    int at = indexOf(bad, "svc-0050".getBytes());
    bad[at] = (byte) 0xff;
    assertThatThrownBy(() -> viaMarshaller(shared, bad))
        .isInstanceOf(StatusRuntimeException.class)
        .hasCauseInstanceOf(InvalidProtocolBufferException.class);
    assertThat(shared.size()).isZero();
    assertThat(viaMarshaller(shared, good)).isEqualTo(DiscoveryRequest.parseFrom(good));
  }

  @Test
  void rememberedNamesAreBoundedByTheirBytes() {
    DiscoveryRequest one = ack("p", "1", names(100, "svc-"));
    int size = one.getResourceNamesList().stream().mapToInt(n -> n.length() + 2).sum();
    SharedNames shared = new SharedNames(3L * size);
    for (int i = 0; i < 10; i++) {
      DiscoveryRequest r = ack("p", "1", names(100, "g" + i + "-"));
      assertThat(viaMarshaller(shared, r.toByteArray())).isEqualTo(r);
      assertThat(shared.size()).isLessThanOrEqualTo(3);
    }
  }

  @Test
  void streamsDecodingTheSameNewNamesAtOnceAreAllHandedTheFirstStoredList() throws Exception {
    SharedNames shared = new SharedNames();
    byte[] wire = ack("p", "1", names(1000, "svc-")).toByteArray();
    int threads = 8;
    var start = new java.util.concurrent.CountDownLatch(1);
    var pool = java.util.concurrent.Executors.newFixedThreadPool(threads);
    try {
      List<java.util.concurrent.Future<List<String>>> lists = new ArrayList<>();
      for (int i = 0; i < threads; i++) {
        lists.add(
            pool.submit(
                () -> {
                  start.await();
                  return viaMarshaller(shared, wire).getResourceNamesList();
                }));
      }
      start.countDown();
      List<String> first = lists.get(0).get();
      for (var f : lists) {
        assertThat(f.get()).isSameAs(first);
      }
    } finally {
      pool.shutdownNow();
    }
  }

  static byte[] concat(byte[]... parts) {
    int n = 0;
    for (byte[] p : parts) {
      n += p.length;
    }
    byte[] out = new byte[n];
    int at = 0;
    for (byte[] p : parts) {
      System.arraycopy(p, 0, out, at, p.length);
      at += p.length;
    }
    return out;
  }

  static int indexOf(byte[] in, byte[] what) {
    outer:
    for (int i = 0; i + what.length <= in.length; i++) {
      for (int j = 0; j < what.length; j++) {
        if (in[i + j] != what[j]) {
          continue outer;
        }
      }
      return i;
    }
    throw new AssertionError("not found");
  }
}
