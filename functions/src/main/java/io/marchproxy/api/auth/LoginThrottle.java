package io.marchproxy.api.auth;

import io.marchproxy.api.problem.ApiException;
import io.marchproxy.core.db.Db;
import io.micronaut.context.annotation.Value;
import io.micronaut.transaction.annotation.Transactional;
import jakarta.inject.Singleton;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;

/**
 * Failed logins per user and per source address, kept in Postgres so every API instance (and every
 * Lambda) sees the same counts. Over the limit within the window, logins are refused with 429 until
 * the lock ends, even with the right password.
 */
@Singleton
class LoginThrottle {

  private final Db db;
  private final Clock clock;
  private final int maxPerUser;
  private final int maxPerSource;
  private final Duration window;

  LoginThrottle(
      Db db,
      Clock clock,
      @Value("${marchproxy.auth.max-failures-per-user:5}") int maxPerUser,
      @Value("${marchproxy.auth.max-failures-per-source:20}") int maxPerSource,
      @Value("${marchproxy.auth.failure-window:15m}") Duration window) {
    this.db = db;
    this.clock = clock;
    this.maxPerUser = maxPerUser;
    this.maxPerSource = maxPerSource;
    this.window = window;
  }

  static String userKey(String username) {
    return "user:" + username;
  }

  static String sourceKey(String source) {
    return "source:" + source;
  }

  /** Throws 429 when either key is locked. */
  @Transactional
  public void requireNotLocked(String username, String source) {
    Instant now = clock.instant();
    for (String key : new String[] {userKey(username), sourceKey(source)}) {
      db.one(
              "select locked_until from login_failures where key = ?",
              rs -> Db.instant(rs, "locked_until"),
              key)
          .filter(until -> until != null && until.isAfter(now))
          .ifPresent(
              until -> {
                throw ApiException.throttled(
                    "too many failed logins; try again after " + until,
                    Duration.between(now, until).toSeconds());
              });
    }
  }

  /** Commits on its own: the failed request that calls this rolls back everything else. */
  @Transactional(
      propagation = io.micronaut.transaction.TransactionDefinition.Propagation.REQUIRES_NEW)
  public void recordFailure(String username, String source) {
    count(userKey(username), maxPerUser);
    count(sourceKey(source), maxPerSource);
  }

  @Transactional
  public void recordSuccess(String username) {
    db.update("delete from login_failures where key = ?", userKey(username));
  }

  private void count(String key, int max) {
    Instant now = clock.instant();
    Instant windowStart = now.minus(window);
    db.update(
        """
        insert into login_failures (key, failures, window_start) values (?, 1, ?)
        on conflict (key) do update set
          failures = case when login_failures.window_start < ? then 1
                          else login_failures.failures + 1 end,
          window_start = case when login_failures.window_start < ? then excluded.window_start
                              else login_failures.window_start end
        """,
        key,
        now,
        windowStart,
        windowStart);
    db.update(
        "update login_failures set locked_until = ? where key = ? and failures >= ?",
        now.plus(window),
        key,
        max);
  }
}
