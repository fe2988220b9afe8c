package io.marchproxy.api.auth;

import static org.assertj.core.api.Assertions.assertThat;

import io.marchproxy.api.testing.ApiTest;
import io.micronaut.test.extensions.junit5.annotation.MicronautTest;
import org.junit.jupiter.api.Test;

@MicronautTest(transactional = false)
class LoginThrottleApiTest extends ApiTest {

  @Test
  void fiveFailuresLockTheUserEvenForTheRightPassword() {
    for (int i = 0; i < 5; i++) {
      login("admin", "wrong-password-" + i).expectProblem(401, "unauthorized");
    }
    var locked = login("admin", ADMIN_PASSWORD).expectProblem(429, "throttled");
    assertThat(Integer.parseInt(locked.header("Retry-After"))).isPositive();
    assertThat(sql("select failures from login_failures where key = 'user:admin'")).isEqualTo("5");

    // The lock ends when its time is up.
    sql("update login_failures set locked_until = now() - interval '1 second'");
    login("admin", ADMIN_PASSWORD).expect(200);
    assertThat(sql("select count(*) from login_failures where key = 'user:admin'")).isEqualTo("0");
  }
}
