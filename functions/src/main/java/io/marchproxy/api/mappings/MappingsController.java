package io.marchproxy.api.mappings;

import io.marchproxy.api.auth.Authenticator;
import io.marchproxy.api.paging.PageRequest;
import io.marchproxy.api.problem.ETags;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.HttpStatus;
import io.micronaut.http.MediaType;
import io.micronaut.http.annotation.Body;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Delete;
import io.micronaut.http.annotation.Get;
import io.micronaut.http.annotation.PathVariable;
import io.micronaut.http.annotation.Post;
import io.micronaut.http.annotation.Put;
import io.micronaut.http.annotation.QueryValue;
import io.micronaut.http.annotation.Status;
import io.micronaut.scheduling.TaskExecutors;
import io.micronaut.scheduling.annotation.ExecuteOn;
import java.util.UUID;

@Controller("/api/v1/clusters/{clusterId}/mappings")
@ExecuteOn(TaskExecutors.BLOCKING)
class MappingsController {

  private final MappingService mappings;
  private final Authenticator authenticator;

  MappingsController(MappingService mappings, Authenticator authenticator) {
    this.mappings = mappings;
    this.authenticator = authenticator;
  }

  @Post
  HttpResponse<MappingView> create(
      HttpRequest<?> request, @PathVariable UUID clusterId, @Body MappingRequest body) {
    MappingView r = mappings.create(authenticator.require(request), clusterId, body);
    return ETags.tag(HttpResponse.created(r), r.version());
  }

  @Get
  HttpResponse<byte[]> list(
      HttpRequest<?> request,
      @PathVariable UUID clusterId,
      @Nullable @QueryValue Integer limit,
      @Nullable @QueryValue String cursor) {
    return HttpResponse.ok(
            mappings.list(authenticator.require(request), clusterId, PageRequest.of(limit, cursor)))
        .contentType(MediaType.APPLICATION_JSON_TYPE);
  }

  @Get("/{id}")
  HttpResponse<MappingView> get(
      HttpRequest<?> request, @PathVariable UUID clusterId, @PathVariable UUID id) {
    MappingView r = mappings.get(authenticator.require(request), clusterId, id);
    return ETags.tag(HttpResponse.ok(r), r.version());
  }

  @Put("/{id}")
  HttpResponse<MappingView> update(
      HttpRequest<?> request,
      @PathVariable UUID clusterId,
      @PathVariable UUID id,
      @Body MappingRequest body) {
    MappingView r =
        mappings.update(
            authenticator.require(request), clusterId, id, ETags.expectedVersion(request), body);
    return ETags.tag(HttpResponse.ok(r), r.version());
  }

  @Delete("/{id}")
  @Status(HttpStatus.NO_CONTENT)
  void delete(HttpRequest<?> request, @PathVariable UUID clusterId, @PathVariable UUID id) {
    mappings.delete(authenticator.require(request), clusterId, id, ETags.expectedVersion(request));
  }
}
