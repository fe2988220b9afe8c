package io.marchproxy.api.revisions;

import io.marchproxy.api.auth.Authenticator;
import io.marchproxy.api.paging.Page;
import io.marchproxy.api.paging.PageRequest;
import io.marchproxy.api.problem.ApiException;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Get;
import io.micronaut.http.annotation.PathVariable;
import io.micronaut.http.annotation.Post;
import io.micronaut.http.annotation.QueryValue;
import io.micronaut.scheduling.TaskExecutors;
import io.micronaut.scheduling.annotation.ExecuteOn;
import java.util.UUID;

@Controller("/api/v1/clusters/{clusterId}/revisions")
@ExecuteOn(TaskExecutors.BLOCKING)
class RevisionsController {

  private final RevisionService revisions;
  private final Authenticator authenticator;

  RevisionsController(RevisionService revisions, Authenticator authenticator) {
    this.revisions = revisions;
    this.authenticator = authenticator;
  }

  /** Newest first; {@code cursor} is the revision number to continue below. */
  @Get
  Page<RevisionService.RevisionSummary> list(
      HttpRequest<?> request,
      @PathVariable UUID clusterId,
      @Nullable @QueryValue Integer limit,
      @Nullable @QueryValue String cursor) {
    int l = PageRequest.of(limit, null).limit();
    Long before = null;
    if (cursor != null && !cursor.isEmpty()) {
      try {
        before = Long.parseLong(cursor);
      } catch (NumberFormatException e) {
        throw ApiException.invalid("cursor", "is not a cursor this API returned");
      }
    }
    return revisions.list(authenticator.require(request), clusterId, l, before);
  }

  @Get("/{revision}")
  RevisionService.Revision get(
      HttpRequest<?> request, @PathVariable UUID clusterId, @PathVariable long revision) {
    return revisions.get(authenticator.require(request), clusterId, revision);
  }

  @Get("/{from}/diff/{to}")
  RevisionService.Diff diff(
      HttpRequest<?> request,
      @PathVariable UUID clusterId,
      @PathVariable long from,
      @PathVariable long to) {
    return revisions.diff(authenticator.require(request), clusterId, from, to);
  }

  @Post("/{revision}/rollback")
  HttpResponse<RevisionService.RevisionSummary> rollback(
      HttpRequest<?> request, @PathVariable UUID clusterId, @PathVariable long revision) {
    return HttpResponse.created(
        revisions.rollback(authenticator.require(request), clusterId, revision));
  }
}
