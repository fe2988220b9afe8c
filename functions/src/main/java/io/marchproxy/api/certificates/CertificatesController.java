package io.marchproxy.api.certificates;

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
import java.util.UUID;

/** Certificates of a cluster, and the fleet-wide list of those about to expire. */
@Controller("/api/v1")
@ExecuteOn(TaskExecutors.BLOCKING)
class CertificatesController {

  static final int DEFAULT_EXPIRING_DAYS = 30;

  private final CertificateService certificates;
  private final Authenticator authenticator;

  CertificatesController(CertificateService certificates, Authenticator authenticator) {
    this.certificates = certificates;
    this.authenticator = authenticator;
  }

  @Post("/clusters/{clusterId}/certificates")
  HttpResponse<CertificateView> create(
      HttpRequest<?> request, @PathVariable UUID clusterId, @Body CertificateRequest body) {
    var actor = authenticator.require(request);
    CertificateView c = certificates.create(actor, clusterId, body);
    return ETags.tag(HttpResponse.created(c), c.version());
  }

  @Get("/clusters/{clusterId}/certificates")
  Page<CertificateView> list(
      HttpRequest<?> request,
      @PathVariable UUID clusterId,
      @Nullable @QueryValue Integer limit,
      @Nullable @QueryValue String cursor,
      @Nullable @QueryValue Integer expiringWithinDays) {
    var actor = authenticator.require(request);
    new Checks()
        .range(expiringWithinDays, 0, CertificateService.MAX_DAYS, "expiringWithinDays")
        .throwIfInvalid();
    return certificates.list(actor, clusterId, PageRequest.of(limit, cursor), expiringWithinDays);
  }

  @Get("/clusters/{clusterId}/certificates/{id}")
  HttpResponse<CertificateView> get(
      HttpRequest<?> request, @PathVariable UUID clusterId, @PathVariable UUID id) {
    CertificateView c = certificates.get(authenticator.require(request), clusterId, id);
    return ETags.tag(HttpResponse.ok(c), c.version());
  }

  @Put("/clusters/{clusterId}/certificates/{id}")
  HttpResponse<CertificateView> replace(
      HttpRequest<?> request,
      @PathVariable UUID clusterId,
      @PathVariable UUID id,
      @Body CertificateRequest body) {
    var actor = authenticator.require(request);
    CertificateView c =
        certificates.replace(actor, clusterId, id, ETags.expectedVersion(request), body);
    return ETags.tag(HttpResponse.ok(c), c.version());
  }

  @Delete("/clusters/{clusterId}/certificates/{id}")
  @Status(HttpStatus.NO_CONTENT)
  void delete(HttpRequest<?> request, @PathVariable UUID clusterId, @PathVariable UUID id) {
    certificates.delete(
        authenticator.require(request), clusterId, id, ETags.expectedVersion(request));
  }

  @Get("/certificates/expiring")
  Page<CertificateView> expiring(
      HttpRequest<?> request,
      @Nullable @QueryValue Integer days,
      @Nullable @QueryValue Integer limit,
      @Nullable @QueryValue String cursor) {
    var actor = authenticator.require(request);
    new Checks().range(days, 0, CertificateService.MAX_DAYS, "days").throwIfInvalid();
    return certificates.expiring(
        actor, days == null ? DEFAULT_EXPIRING_DAYS : days, PageRequest.of(limit, cursor));
  }
}
