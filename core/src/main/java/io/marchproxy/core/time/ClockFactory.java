package io.marchproxy.core.time;

import io.micronaut.context.annotation.Factory;
import jakarta.inject.Singleton;
import java.time.Clock;

/** The one clock every component reads time from; tests replace it to move time. */
@Factory
final class ClockFactory {

  @Singleton
  Clock clock() {
    return Clock.systemUTC();
  }
}
