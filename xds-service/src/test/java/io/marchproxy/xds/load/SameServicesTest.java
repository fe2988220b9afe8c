package io.marchproxy.xds.load;

import static org.assertj.core.api.Assertions.assertThat;

import io.marchproxy.core.config.ClusterConfig;
import io.marchproxy.core.config.ServiceSpec;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;

class SameServicesTest {

  private static final UUID WEB = UUID.randomUUID();
  private static final UUID API = UUID.randomUUID();
  private static final UUID NEW = UUID.randomUUID();

  @Test
  void anUnchangedServiceIsHandedOnAsTheSameObjectAndAChangedOneAsItIs() {
    ClusterConfig before = doc(service(WEB, "web", "10.0.0.1"), service(API, "api", "10.0.0.2"));
    ClusterConfig after =
        doc(
            service(WEB, "web", "10.0.0.1"),
            service(API, "api", "10.0.0.3"),
            service(NEW, "new", "10.0.0.4"));

    ClusterConfig reused = SameServices.reuse(before, after);

    assertThat(reused.services().get(0)).isSameAs(before.services().get(0));
    assertThat(reused.services().get(1))
        .as("changed: the new value, never the old one")
        .isSameAs(after.services().get(1))
        .isNotEqualTo(before.services().get(1));
    assertThat(reused.services().get(2)).isSameAs(after.services().get(2));
    assertThat(reused).as("the document's value is unchanged").isEqualTo(after);
  }

  @Test
  void aServiceRenamedUnderTheSameIdIsNotReused() {
    ClusterConfig before = doc(service(WEB, "web", "10.0.0.1"));
    ClusterConfig after = doc(service(WEB, "www", "10.0.0.1"));
    assertThat(SameServices.reuse(before, after).services().getFirst())
        .isSameAs(after.services().getFirst());
  }

  @Test
  void withoutAPreviousDocumentOrServicesTheDocumentIsAsRead() {
    ClusterConfig after = doc(service(WEB, "web", "10.0.0.1"));
    assertThat(SameServices.reuse(null, after)).isSameAs(after);
    ClusterConfig none =
        new ClusterConfig(
            1, new ClusterConfig.Cluster(UUID.randomUUID(), "c"), null, null, null, null);
    assertThat(SameServices.reuse(after, none)).isSameAs(none);
    assertThat(SameServices.reuse(none, after)).isSameAs(after);
  }

  private static ClusterConfig doc(ClusterConfig.Service... services) {
    return new ClusterConfig(
        1,
        new ClusterConfig.Cluster(UUID.fromString("0b0e5a3c-0000-4000-8000-00000000000a"), "c"),
        List.of(services),
        List.of(),
        List.of(),
        List.of());
  }

  private static ClusterConfig.Service service(UUID id, String name, String host) {
    var spec =
        new ServiceSpec(
            List.of(new ServiceSpec.Endpoint(host, 8080, 1, null, null, 0)),
            "round_robin",
            null,
            null,
            null,
            null);
    return new ClusterConfig.Service(id, name, "http", spec, List.of());
  }
}
