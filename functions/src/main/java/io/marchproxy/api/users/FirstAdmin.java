package io.marchproxy.api.users;

import io.marchproxy.core.users.PasswordHasher;
import io.marchproxy.core.users.Role;
import io.marchproxy.core.users.User;
import io.marchproxy.core.users.UserRepository;
import io.micronaut.context.annotation.Context;
import io.micronaut.context.annotation.Value;
import io.micronaut.core.annotation.Nullable;
import jakarta.annotation.PostConstruct;
import java.security.SecureRandom;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Creates the {@code admin} account on the first start against an empty database. Its password
 * comes from {@code MARCHPROXY_ADMIN_PASSWORD}; without it one is generated and printed once on the
 * console (never to the log).
 */
@Context
final class FirstAdmin {

  static final String USERNAME = "admin";
  private static final Logger LOG = LoggerFactory.getLogger(FirstAdmin.class);
  private static final char[] ALPHABET =
      "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789".toCharArray();

  private final UserRepository users;
  private final PasswordHasher hasher;
  private final String configuredPassword;

  FirstAdmin(
      UserRepository users,
      PasswordHasher hasher,
      @Nullable @Value("${marchproxy.admin.password:}") String configuredPassword) {
    this.users = users;
    this.hasher = hasher;
    this.configuredPassword = configuredPassword;
  }

  @PostConstruct
  void createIfNoUsers() {
    if (users.count() > 0) {
      return;
    }
    boolean generated = configuredPassword == null || configuredPassword.isEmpty();
    char[] password = generated ? generate() : configuredPassword.toCharArray();
    try {
      PasswordHasher.requireAcceptable(password);
    } catch (IllegalArgumentException e) {
      throw new IllegalStateException("MARCHPROXY_ADMIN_PASSWORD: " + e.getMessage());
    }
    users.save(
        new User(UUID.randomUUID(), USERNAME, hasher.hash(password), Role.ADMIN, null, null));
    LOG.info("Created the first admin user '{}'", USERNAME);
    if (generated) {
      System.out.println(
          "MarchProxy first admin: username="
              + USERNAME
              + " password="
              + new String(password)
              + "  (shown once; set MARCHPROXY_ADMIN_PASSWORD to choose it)");
      System.out.flush();
    }
  }

  private static char[] generate() {
    var random = new SecureRandom();
    char[] out = new char[20];
    for (int i = 0; i < out.length; i++) {
      out[i] = ALPHABET[random.nextInt(ALPHABET.length)];
    }
    return out;
  }
}
