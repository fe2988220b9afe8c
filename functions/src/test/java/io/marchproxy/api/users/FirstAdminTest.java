package io.marchproxy.api.users;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.marchproxy.core.testing.TestPostgres;
import io.marchproxy.core.users.PasswordHasher;
import io.marchproxy.core.users.Role;
import io.marchproxy.core.users.User;
import io.marchproxy.core.users.UserRepository;
import io.micronaut.context.ApplicationContext;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.Test;

class FirstAdminTest {

  private static Map<String, Object> props(Map<String, String> db, String password) {
    var p = new HashMap<String, Object>(db);
    p.put("micronaut.server.port", -1);
    if (password != null) {
      p.put("marchproxy.admin.password", password);
    }
    return p;
  }

  @Test
  void createsOneHashedAdminOnAnEmptyDatabaseAndNeverAgain() {
    Map<String, String> db = TestPostgres.datasourceProperties();
    String firstHash;
    try (var ctx = ApplicationContext.run(props(db, "correct-horse-battery"))) {
      List<User> all = all(ctx);
      assertThat(all).hasSize(1);
      User admin = all.getFirst();
      assertThat(admin.username()).isEqualTo("admin");
      assertThat(admin.role()).isEqualTo(Role.ADMIN);
      assertThat(admin.passwordHash()).startsWith("$2").doesNotContain("correct-horse-battery");
      assertThat(
              ctx.getBean(PasswordHasher.class)
                  .matches("correct-horse-battery".toCharArray(), admin.passwordHash()))
          .isTrue();
      firstHash = admin.passwordHash();
    }
    // A restart with another password configured keeps the existing admin as it is.
    try (var ctx = ApplicationContext.run(props(db, "another-password-entirely"))) {
      List<User> all = all(ctx);
      assertThat(all).hasSize(1);
      assertThat(all.getFirst().passwordHash()).isEqualTo(firstHash);
    }
  }

  @Test
  void generatesAPasswordWhenNoneIsConfigured() {
    Map<String, String> db = TestPostgres.datasourceProperties();
    try (var ctx = ApplicationContext.run(props(db, null))) {
      assertThat(all(ctx)).singleElement().extracting(User::username).isEqualTo("admin");
    }
  }

  @Test
  void aTooShortConfiguredPasswordStopsStartupAndWritesNothing() {
    Map<String, String> db = TestPostgres.datasourceProperties();
    assertThatThrownBy(() -> ApplicationContext.run(props(db, "short")).close())
        .hasStackTraceContaining("MARCHPROXY_ADMIN_PASSWORD: password must be at least 12");
    try (var ctx = ApplicationContext.run(props(db, "long-enough-password"))) {
      assertThat(all(ctx)).as("the failed start wrote no user").hasSize(1);
    }
  }

  private static List<User> all(ApplicationContext ctx) {
    return StreamSupport.stream(ctx.getBean(UserRepository.class).findAll().spliterator(), false)
        .toList();
  }
}
