package io.marchproxy.api.lambda;

import io.marchproxy.core.users.UserRepository;
import io.micronaut.context.BeanProvider;
import io.micronaut.context.annotation.Context;
import io.micronaut.context.annotation.Requires;
import io.micronaut.context.annotation.Value;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.core.annotation.Order;
import io.micronaut.core.order.Ordered;
import jakarta.annotation.PostConstruct;
import java.util.ArrayList;
import java.util.List;

/**
 * Fails a Lambda cold start, with the environment variable to set, instead of letting it run in a
 * shape that works on a laptop but not on Lambda: the local fallbacks (a master key generated into
 * {@code .marchproxy/}, a first-admin password printed to the console) would give every instance
 * its own key on a read-only disk, and put a password into CloudWatch.
 */
@Context
@Order(Ordered.HIGHEST_PRECEDENCE)
@Requires(env = "lambda")
final class LambdaPreconditions {

  private final String datasourceUrl;
  private final String masterKey;
  private final String adminPassword;
  // Resolved only once the database is known to be configured.
  private final BeanProvider<UserRepository> users;

  LambdaPreconditions(
      @Nullable @Value("${datasources.default.url:}") String datasourceUrl,
      @Nullable @Value("${marchproxy.master-key:}") String masterKey,
      @Nullable @Value("${marchproxy.admin.password:}") String adminPassword,
      BeanProvider<UserRepository> users) {
    this.datasourceUrl = datasourceUrl;
    this.masterKey = masterKey;
    this.adminPassword = adminPassword;
    this.users = users;
  }

  @PostConstruct
  void check() {
    List<String> missing = new ArrayList<>();
    if (blank(datasourceUrl)) {
      missing.add("DATASOURCES_DEFAULT_URL (the RDS Postgres; no embedded Postgres on Lambda)");
    }
    if (blank(masterKey)) {
      missing.add("MARCHPROXY_MASTER_KEY (base64 of 32 bytes, the same for every instance)");
    }
    if (missing.isEmpty() && blank(adminPassword) && users.get().count() == 0) {
      missing.add("MARCHPROXY_ADMIN_PASSWORD (the database has no users yet)");
    }
    if (!missing.isEmpty()) {
      throw new IllegalStateException("On Lambda, set " + String.join(", ", missing));
    }
  }

  private static boolean blank(String s) {
    return s == null || s.isBlank();
  }
}
