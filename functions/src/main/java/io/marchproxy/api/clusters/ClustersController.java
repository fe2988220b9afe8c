package io.marchproxy.api.clusters;

import io.marchproxy.api.auth.Authenticator;
import io.marchproxy.api.paging.Page;
import io.marchproxy.api.paging.PageRequest;
import io.marchproxy.api.problem.Checks;
import io.marchproxy.api.problem.ETags;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.HttpStatus;
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
import io.micronaut.serde.annotation.Serdeable;
import java.time.Duration;
import java.util.List;
import java.util.UUID;

@Controller("/api/v1/clusters")
@ExecuteOn(TaskExecutors.BLOCKING)
class ClustersController {

  @Serdeable
  record ClusterRequest(@Nullable String name, @Nullable String description) {}

  @Serdeable
  record KeyRequest(@Nullable String name) {}

  @Serdeable
  record RotateRequest(@Nullable Long graceSeconds) {}

  private final ClusterService clusters;
  private final Authenticator authenticator;

  ClustersController(ClusterService clusters, Authenticator authenticator) {
    this.clusters = clusters;
    this.authenticator = authenticator;
  }

  @Post
  HttpResponse<ClusterView> create(HttpRequest<?> request, @Body ClusterRequest body) {
    var actor = authenticator.require(request);
    new Checks()
        .name(body.name(), "name")
        .maxLength(body.description(), 1024, "description")
        .throwIfInvalid();
    ClusterView c =
        clusters.create(actor, body.name(), body.description() == null ? "" : body.description());
    return ETags.tag(HttpResponse.created(c), c.version());
  }

  @Get
  Page<ClusterView> list(
      HttpRequest<?> request,
      @Nullable @QueryValue Integer limit,
      @Nullable @QueryValue String cursor) {
    return clusters.list(authenticator.require(request), PageRequest.of(limit, cursor));
  }

  @Get("/{id}")
  HttpResponse<ClusterView> get(HttpRequest<?> request, @PathVariable UUID id) {
    ClusterView c = clusters.get(authenticator.require(request), id);
    return ETags.tag(HttpResponse.ok(c), c.version());
  }

  @Put("/{id}")
  HttpResponse<ClusterView> update(
      HttpRequest<?> request, @PathVariable UUID id, @Body ClusterRequest body) {
    var actor = authenticator.require(request);
    var checks = new Checks().maxLength(body.description(), 1024, "description");
    checks.check(
        body.name() == null,
        "name",
        "cannot be changed (proxies are bound to it); create a new cluster");
    checks.throwIfInvalid();
    ClusterView c =
        clusters.update(
            actor,
            id,
            ETags.expectedVersion(request),
            body.description() == null ? "" : body.description());
    return ETags.tag(HttpResponse.ok(c), c.version());
  }

  @Delete("/{id}")
  @Status(HttpStatus.NO_CONTENT)
  void delete(HttpRequest<?> request, @PathVariable UUID id) {
    clusters.delete(authenticator.require(request), id, ETags.expectedVersion(request));
  }

  @Post("/{id}/keys")
  HttpResponse<ClusterService.CreatedKey> createKey(
      HttpRequest<?> request, @PathVariable UUID id, @Nullable @Body KeyRequest body) {
    var actor = authenticator.require(request);
    String name = body == null || body.name() == null ? "default" : body.name();
    new Checks().name(name, "name").throwIfInvalid();
    return HttpResponse.created(clusters.createKey(actor, id, name));
  }

  @Get("/{id}/keys")
  List<ClusterService.ApiKey> keys(HttpRequest<?> request, @PathVariable UUID id) {
    return clusters.keys(authenticator.require(request), id);
  }

  @Post("/{id}/keys/{keyId}/rotate")
  HttpResponse<ClusterService.RotatedKey> rotate(
      HttpRequest<?> request,
      @PathVariable UUID id,
      @PathVariable UUID keyId,
      @Nullable @Body RotateRequest body) {
    var actor = authenticator.require(request);
    Long grace = body == null ? null : body.graceSeconds();
    new Checks()
        .range(grace, 0L, ClusterService.MAX_GRACE.toSeconds(), "graceSeconds")
        .throwIfInvalid();
    Duration d = grace == null ? ClusterService.DEFAULT_GRACE : Duration.ofSeconds(grace);
    return HttpResponse.created(clusters.rotateKey(actor, id, keyId, d));
  }

  @Delete("/{id}/keys/{keyId}")
  @Status(HttpStatus.NO_CONTENT)
  void revoke(HttpRequest<?> request, @PathVariable UUID id, @PathVariable UUID keyId) {
    clusters.revokeKey(authenticator.require(request), id, keyId);
  }
}
