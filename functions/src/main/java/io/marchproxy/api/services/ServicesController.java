package io.marchproxy.api.services;

import io.marchproxy.api.auth.Authenticator;
import io.marchproxy.api.clusters.ClusterService;
import io.marchproxy.api.paging.PageRequest;
import io.marchproxy.api.problem.Checks;
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
import io.micronaut.serde.annotation.Serdeable;
import java.time.Duration;
import java.util.List;
import java.util.UUID;

@Controller("/api/v1/clusters/{clusterId}/services")
@ExecuteOn(TaskExecutors.BLOCKING)
class ServicesController {

  @Serdeable
  record RotateRequest(@Nullable Long graceSeconds) {}

  private final ServiceService services;
  private final Authenticator authenticator;

  ServicesController(ServiceService services, Authenticator authenticator) {
    this.services = services;
    this.authenticator = authenticator;
  }

  @Post
  HttpResponse<ServiceService.Created> create(
      HttpRequest<?> request, @PathVariable UUID clusterId, @Body ServiceRequest body) {
    var created = services.create(authenticator.require(request), clusterId, body);
    return ETags.tag(HttpResponse.created(created), created.service().version());
  }

  @Get
  HttpResponse<byte[]> list(
      HttpRequest<?> request,
      @PathVariable UUID clusterId,
      @Nullable @QueryValue Integer limit,
      @Nullable @QueryValue String cursor) {
    return HttpResponse.ok(
            services.list(authenticator.require(request), clusterId, PageRequest.of(limit, cursor)))
        .contentType(MediaType.APPLICATION_JSON_TYPE);
  }

  @Get("/{id}")
  HttpResponse<ServiceView> get(
      HttpRequest<?> request, @PathVariable UUID clusterId, @PathVariable UUID id) {
    ServiceView s = services.get(authenticator.require(request), clusterId, id);
    return ETags.tag(HttpResponse.ok(s), s.version());
  }

  @Put("/{id}")
  HttpResponse<ServiceView> update(
      HttpRequest<?> request,
      @PathVariable UUID clusterId,
      @PathVariable UUID id,
      @Body ServiceRequest body) {
    ServiceView s =
        services.update(
            authenticator.require(request), clusterId, id, ETags.expectedVersion(request), body);
    return ETags.tag(HttpResponse.ok(s), s.version());
  }

  @Delete("/{id}")
  @Status(HttpStatus.NO_CONTENT)
  void delete(HttpRequest<?> request, @PathVariable UUID clusterId, @PathVariable UUID id) {
    services.delete(authenticator.require(request), clusterId, id, ETags.expectedVersion(request));
  }

  @Get("/{id}/credentials")
  List<ServiceCredentials.Credential> credentials(
      HttpRequest<?> request, @PathVariable UUID clusterId, @PathVariable UUID id) {
    return services.credentials(authenticator.require(request), clusterId, id);
  }

  @Post("/{id}/credentials")
  HttpResponse<ServiceCredentials.CreatedCredential> createCredential(
      HttpRequest<?> request, @PathVariable UUID clusterId, @PathVariable UUID id) {
    return HttpResponse.created(
        services.createCredential(authenticator.require(request), clusterId, id));
  }

  @Post("/{id}/credentials/{credentialId}/rotate")
  HttpResponse<ServiceCredentials.Rotated> rotate(
      HttpRequest<?> request,
      @PathVariable UUID clusterId,
      @PathVariable UUID id,
      @PathVariable UUID credentialId,
      @Nullable @Body RotateRequest body) {
    var actor = authenticator.require(request);
    Long grace = body == null ? null : body.graceSeconds();
    new Checks()
        .range(grace, 0L, ClusterService.MAX_GRACE.toSeconds(), "graceSeconds")
        .throwIfInvalid();
    Duration d = grace == null ? ClusterService.DEFAULT_GRACE : Duration.ofSeconds(grace);
    return HttpResponse.created(services.rotateCredential(actor, clusterId, id, credentialId, d));
  }

  @Delete("/{id}/credentials/{credentialId}")
  @Status(HttpStatus.NO_CONTENT)
  void revoke(
      HttpRequest<?> request,
      @PathVariable UUID clusterId,
      @PathVariable UUID id,
      @PathVariable UUID credentialId) {
    services.revokeCredential(authenticator.require(request), clusterId, id, credentialId);
  }
}
