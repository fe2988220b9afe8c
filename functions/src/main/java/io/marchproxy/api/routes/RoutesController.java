package io.marchproxy.api.routes;

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

@Controller("/api/v1/clusters/{clusterId}/routes")
@ExecuteOn(TaskExecutors.BLOCKING)
class RoutesController {

  private final RouteService routes;
  private final Authenticator authenticator;

  RoutesController(RouteService routes, Authenticator authenticator) {
    this.routes = routes;
    this.authenticator = authenticator;
  }

  @Post
  HttpResponse<RouteView> create(
      HttpRequest<?> request, @PathVariable UUID clusterId, @Body RouteRequest body) {
    RouteView r = routes.create(authenticator.require(request), clusterId, body);
    return ETags.tag(HttpResponse.created(r), r.version());
  }

  @Get
  HttpResponse<byte[]> list(
      HttpRequest<?> request,
      @PathVariable UUID clusterId,
      @Nullable @QueryValue Integer limit,
      @Nullable @QueryValue String cursor) {
    return HttpResponse.ok(
            routes.list(authenticator.require(request), clusterId, PageRequest.of(limit, cursor)))
        .contentType(MediaType.APPLICATION_JSON_TYPE);
  }

  @Get("/{id}")
  HttpResponse<RouteView> get(
      HttpRequest<?> request, @PathVariable UUID clusterId, @PathVariable UUID id) {
    RouteView r = routes.get(authenticator.require(request), clusterId, id);
    return ETags.tag(HttpResponse.ok(r), r.version());
  }

  @Put("/{id}")
  HttpResponse<RouteView> update(
      HttpRequest<?> request,
      @PathVariable UUID clusterId,
      @PathVariable UUID id,
      @Body RouteRequest body) {
    RouteView r =
        routes.update(
            authenticator.require(request), clusterId, id, ETags.expectedVersion(request), body);
    return ETags.tag(HttpResponse.ok(r), r.version());
  }

  @Delete("/{id}")
  @Status(HttpStatus.NO_CONTENT)
  void delete(HttpRequest<?> request, @PathVariable UUID clusterId, @PathVariable UUID id) {
    routes.delete(authenticator.require(request), clusterId, id, ETags.expectedVersion(request));
  }
}
