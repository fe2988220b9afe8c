package io.marchproxy.xds.serve;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.StatusRuntimeException;
import io.marchproxy.xds.cache.NodeGroups;
import io.micronaut.test.extensions.junit5.annotation.MicronautTest;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Over the license, a registered proxy is refused its stream, with the limit named. */
@MicronautTest(transactional = false)
class AdsLicenseLimitTest extends AdsTestBase {

  @Test
  void theFourthCommunityProxyIsRefusedWithTheLimitNamed() throws Exception {
    String[] f = fleet("licensed");
    // Three more proxies registered before, seen recently (community allows 3 in all).
    for (int i = 1; i <= 3; i++) {
      sql(
          "insert into proxies (id, cluster_id, name, kind, registered_at) values (gen_random_uuid(), '"
              + f[0]
              + "', 'earlier-"
              + i
              + "', 'envoy', now() - interval '"
              + i
              + " minutes')");
    }
    cache.setSnapshot(NodeGroups.group(f[0], "envoy"), snapshot(1, "svc", 1));
    Stream s = open(f[1]);
    s.requests().onNext(cds(f[2], "", ""));
    Throwable e = s.errors().poll(10, TimeUnit.SECONDS);
    assertThat(e).isInstanceOf(StatusRuntimeException.class);
    var status = ((StatusRuntimeException) e).getStatus();
    assertThat(status.getCode()).isEqualTo(io.grpc.Status.Code.RESOURCE_EXHAUSTED);
    assertThat(status.getDescription()).contains("maxProxies=3");
    assertThat(s.responses()).isEmpty();
  }
}
