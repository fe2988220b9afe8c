package io.marchproxy.api.audit;

import io.marchproxy.api.auth.Actor;
import io.marchproxy.core.crypto.Tokens;
import io.marchproxy.core.db.Db;
import io.micronaut.json.JsonMapper;
import io.micronaut.transaction.annotation.Transactional;
import jakarta.inject.Singleton;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.regex.Pattern;

/**
 * The append-only audit log. Each event is written in the transaction of the change it records,
 * carries the hash of the event before it, and has secrets redacted before it is stored.
 */
@Singleton
public class AuditLog {

  public static final String GENESIS = "0".repeat(64);
  private static final Pattern SECRET_KEY =
      Pattern.compile("(?i).*(password|secret|token|private|apikey|api_key|^key$|privatekey).*");
  private static final Set<String> NOT_SECRET = Set.of("prefix", "tokenType", "tokens");

  private final Db db;
  private final JsonMapper json;
  private final Clock clock;

  AuditLog(Db db, JsonMapper json, Clock clock) {
    this.db = db;
    this.json = json;
    this.clock = clock;
  }

  @Transactional
  public void append(
      Actor actor,
      String action,
      String entityType,
      String entityId,
      UUID clusterId,
      Object before,
      Object after) {
    append(
        actor.auditName(), actor.source(), action, entityType, entityId, clusterId, before, after);
  }

  @Transactional
  public void append(
      String actor,
      String source,
      String action,
      String entityType,
      String entityId,
      UUID clusterId,
      Object before,
      Object after) {
    // One writer at a time, so each event links to the one truly before it.
    db.one("select pg_advisory_xact_lock(7231001)", rs -> 1);
    String prev =
        db.one("select hash from audit_events order by seq desc limit 1", rs -> rs.getString(1))
            .orElse(GENESIS);
    // Postgres normalizes jsonb; hash the text it will give back, so verification can recompute.
    String beforeJson = normalize(redact(before));
    String afterJson = normalize(redact(after));
    Instant at = clock.instant().truncatedTo(ChronoUnit.MICROS);
    var event =
        new Event(
            0,
            at,
            actor,
            source == null ? "" : source,
            action,
            entityType,
            entityId,
            clusterId,
            beforeJson,
            afterJson,
            prev,
            null);
    String hash = event.computeHash();
    db.update(
        "insert into audit_events (at, actor, source, action, entity_type, entity_id, cluster_id,"
            + " before, after, prev_hash, hash) values (?, ?, ?, ?, ?, ?, ?, ?::jsonb, ?::jsonb, ?, ?)",
        at,
        event.actor(),
        event.source(),
        action,
        entityType,
        entityId,
        clusterId,
        beforeJson,
        afterJson,
        prev,
        hash);
  }

  /** An event as stored. {@code before}/{@code after} are Postgres' jsonb text, or null. */
  public record Event(
      long seq,
      Instant at,
      String actor,
      String source,
      String action,
      String entityType,
      String entityId,
      UUID clusterId,
      String before,
      String after,
      String prevHash,
      String hash) {

    String computeHash() {
      String canonical =
          String.join(
              "\u001f",
              prevHash,
              String.valueOf(ChronoUnit.MICROS.between(Instant.EPOCH, at)),
              actor,
              source,
              action,
              entityType,
              String.valueOf(entityId),
              String.valueOf(clusterId),
              String.valueOf(before),
              String.valueOf(after));
      return Tokens.sha256Hex(canonical);
    }

    public static Event map(ResultSet rs) throws SQLException {
      return new Event(
          rs.getLong("seq"),
          Db.instant(rs, "at"),
          rs.getString("actor"),
          rs.getString("source"),
          rs.getString("action"),
          rs.getString("entity_type"),
          rs.getString("entity_id"),
          Db.uuid(rs, "cluster_id"),
          rs.getString("before"),
          rs.getString("after"),
          rs.getString("prev_hash"),
          rs.getString("hash"));
    }
  }

  public static final String EVENT_COLUMNS =
      "seq, at, actor, source, action, entity_type, entity_id, cluster_id, before::text as before,"
          + " after::text as after, prev_hash, hash";

  /** Where the chain breaks, if it does: the first event whose links or hash do not match. */
  @io.micronaut.serde.annotation.Serdeable
  public record Verification(boolean valid, long events, Long firstBrokenSeq, String reason) {}

  @Transactional
  public Verification verify() {
    List<Event> events =
        db.list("select " + EVENT_COLUMNS + " from audit_events order by seq", Event::map);
    String prev = GENESIS;
    for (Event e : events) {
      if (!e.prevHash().equals(prev)) {
        return new Verification(
            false, events.size(), e.seq(), "prev_hash does not match the event before");
      }
      if (!e.computeHash().equals(e.hash())) {
        return new Verification(false, events.size(), e.seq(), "content does not match its hash");
      }
      prev = e.hash();
    }
    return new Verification(true, events.size(), null, null);
  }

  private String normalize(Object value) {
    if (value == null) {
      return null;
    }
    try {
      String text = json.writeValueAsString(value);
      return db.one("select cast(? as jsonb)::text", rs -> rs.getString(1), text).orElseThrow();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Values of keys that look like secrets become "[redacted]", at any depth. */
  @SuppressWarnings("unchecked")
  Object redact(Object value) {
    if (value == null) {
      return null;
    }
    try {
      Object tree = json.readValue(json.writeValueAsBytes(value), Object.class);
      return redactTree(tree);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @SuppressWarnings("unchecked")
  private static Object redactTree(Object node) {
    if (node instanceof Map<?, ?> map) {
      Map<String, Object> out = new LinkedHashMap<>();
      map.forEach(
          (k, v) -> {
            String key = String.valueOf(k);
            boolean secret = SECRET_KEY.matcher(key).matches() && !NOT_SECRET.contains(key);
            out.put(key, secret && v != null ? "[redacted]" : redactTree(v));
          });
      return out;
    }
    if (node instanceof List<?> list) {
      return list.stream().map(AuditLog::redactTree).toList();
    }
    return node;
  }
}
