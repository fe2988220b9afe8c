package io.marchproxy.api.auth;

import io.marchproxy.core.crypto.Sealed;
import io.marchproxy.core.crypto.SecretBox;
import io.marchproxy.core.crypto.Tokens;
import io.marchproxy.core.db.Db;
import io.micronaut.context.annotation.Factory;
import io.micronaut.context.annotation.Value;
import io.micronaut.json.JsonMapper;
import io.micronaut.transaction.TransactionOperations;
import jakarta.inject.Singleton;
import java.sql.Connection;
import java.time.Clock;
import java.time.Duration;

/** Loads the access-token signing key from the database, creating it on the first start. */
@Factory
class SigningKeys {

  private static final String PURPOSE = "access-token";

  @Singleton
  AccessTokens accessTokens(
      TransactionOperations<Connection> tx,
      Db db,
      SecretBox box,
      JsonMapper json,
      Clock clock,
      @Value("${marchproxy.auth.access-token-ttl:15m}") Duration ttl) {
    byte[] key = tx.executeWrite(status -> loadOrCreate(db, box));
    return new AccessTokens(key, json, clock, ttl);
  }

  private static byte[] loadOrCreate(Db db, SecretBox box) {
    Sealed fresh = box.seal(Tokens.randomBytes(32), "signing-key:" + PURPOSE);
    db.update(
        "insert into signing_keys (purpose, secret_ciphertext, secret_wrapped_key, secret_kek)"
            + " values (?, ?, ?, ?) on conflict (purpose) do nothing",
        PURPOSE,
        fresh.ciphertext(),
        fresh.wrappedKey(),
        fresh.kekId());
    Sealed stored =
        db.one(
                "select secret_ciphertext, secret_wrapped_key, secret_kek from signing_keys"
                    + " where purpose = ?",
                rs -> new Sealed(rs.getBytes(1), rs.getBytes(2), rs.getString(3)),
                PURPOSE)
            .orElseThrow();
    return box.open(stored, "signing-key:" + PURPOSE);
  }
}
