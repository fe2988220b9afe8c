package io.marchproxy.api.audit;

import io.marchproxy.api.auth.Authenticator;
import io.marchproxy.api.paging.Page;
import io.marchproxy.api.paging.PageRequest;
import io.marchproxy.api.problem.ApiException;
import io.marchproxy.core.db.Db;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Get;
import io.micronaut.http.annotation.QueryValue;
import io.micronaut.scheduling.TaskExecutors;
import io.micronaut.scheduling.annotation.ExecuteOn;
import io.micronaut.serde.annotation.Serdeable;
import io.micronaut.transaction.annotation.Transactional;
import java.time.Instant;
import java.util.List;
import java.util.UUID;

@Controller("/api/v1/audit")
@ExecuteOn(TaskExecutors.BLOCKING)
class AuditController {

  @Serdeable
  record EventView(
      long seq,
      Instant at,
      String actor,
      String source,
      String action,
      String entityType,
      @Nullable String entityId,
      @Nullable UUID clusterId,
      @Nullable String before,
      @Nullable String after,
      String hash) {}

  private final AuditLog audit;
  private final Db db;
  private final Authenticator authenticator;

  AuditController(AuditLog audit, Db db, Authenticator authenticator) {
    this.audit = audit;
    this.db = db;
    this.authenticator = authenticator;
  }

  /** Newest first; admins only. {@code cursor} continues below that sequence number. */
  @Get
  @Transactional
  Page<EventView> list(
      HttpRequest<?> request,
      @Nullable @QueryValue UUID clusterId,
      @Nullable @QueryValue Integer limit,
      @Nullable @QueryValue String cursor) {
    authenticator.require(request).requireAdmin();
    int l = PageRequest.of(limit, null).limit();
    long before;
    try {
      before = cursor == null || cursor.isEmpty() ? Long.MAX_VALUE : Long.parseLong(cursor);
    } catch (NumberFormatException e) {
      throw ApiException.invalid("cursor", "is not a cursor this API returned");
    }
    List<EventView> rows =
        db.list(
            "select "
                + AuditLog.EVENT_COLUMNS
                + " from audit_events where seq < ? and (?::uuid is null or cluster_id = ?::uuid)"
                + " order by seq desc limit ?",
            rs -> {
              AuditLog.Event e = AuditLog.Event.map(rs);
              return new EventView(
                  e.seq(),
                  e.at(),
                  e.actor(),
                  e.source(),
                  e.action(),
                  e.entityType(),
                  e.entityId(),
                  e.clusterId(),
                  e.before(),
                  e.after(),
                  e.hash());
            },
            before,
            clusterId,
            clusterId,
            l + 1);
    if (rows.size() <= l) {
      return new Page<>(rows, null);
    }
    List<EventView> page = rows.subList(0, l);
    return new Page<>(List.copyOf(page), String.valueOf(page.getLast().seq()));
  }

  @Get("/verify")
  AuditLog.Verification verify(HttpRequest<?> request) {
    authenticator.require(request).requireAdmin();
    return audit.verify();
  }
}
