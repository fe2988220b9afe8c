package io.marchproxy.l4.tcp;

import static org.assertj.core.api.Assertions.assertThat;

import io.marchproxy.l4.config.ListenerSpec;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class TcpListenerTest {

  private static ListenerSpec.FilterChain chain(Duration idle) {
    return new ListenerSpec.FilterChain(
        List.of(), null, null, 0, new ListenerSpec.TcpRoute("svc", idle, 1));
  }

  @Test
  void idleConnectionsAreLookedForAtAQuarterOfTheShortestTimeoutBetween50MsAndASecond() {
    assertThat(TcpListener.sweepPeriodNanos(List.of(chain(Duration.ZERO))))
        .as("no idle timeout: once a second (connections kept from an earlier policy)")
        .isEqualTo(TimeUnit.SECONDS.toNanos(1));
    assertThat(TcpListener.sweepPeriodNanos(List.of(chain(Duration.ofHours(1)))))
        .isEqualTo(TimeUnit.SECONDS.toNanos(1));
    assertThat(
            TcpListener.sweepPeriodNanos(
                List.of(chain(Duration.ofSeconds(30)), chain(Duration.ofMillis(300)))))
        .isEqualTo(TimeUnit.MILLISECONDS.toNanos(75));
    assertThat(TcpListener.sweepPeriodNanos(List.of(chain(Duration.ofMillis(100)))))
        .isEqualTo(TimeUnit.MILLISECONDS.toNanos(50));
  }
}
