package io.marchproxy.api.proxies;

import io.marchproxy.api.auth.Authenticator;
import io.marchproxy.api.paging.Page;
import io.marchproxy.api.paging.PageRequest;
import io.marchproxy.api.problem.ApiException;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.http.HttpHeaders;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.HttpStatus;
import io.micronaut.http.annotation.Body;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Delete;
import io.micronaut.http.annotation.Get;
import io.micronaut.http.annotation.PathVariable;
import io.micronaut.http.annotation.Post;
import io.micronaut.http.annotation.QueryValue;
import io.micronaut.http.annotation.Status;
import io.micronaut.scheduling.TaskExecutors;
import io.micronaut.scheduling.annotation.ExecuteOn;
import io.micronaut.serde.annotation.Serdeable;
import java.util.Set;
import java.util.UUID;

@Controller("/api/v1/proxies")
@ExecuteOn(TaskExecutors.BLOCKING)
class ProxiesController {

  static final String CLUSTER_KEY_HEADER = "X-Cluster-Key";

  @Serdeable
  record Heartbeat(@Nullable Long appliedRevision) {}

  private final ProxyService proxies;
  private final Authenticator authenticator;

  ProxiesController(ProxyService proxies, Authenticator authenticator) {
    this.proxies = proxies;
    this.authenticator = authenticator;
  }

  /** Proxies send their cluster key as X-Cluster-Key (or as a Bearer token). */
  static String clusterKey(HttpRequest<?> request) {
    String key = request.getHeaders().get(CLUSTER_KEY_HEADER);
    String auth = request.getHeaders().get(HttpHeaders.AUTHORIZATION);
    if (key == null && auth != null && auth.regionMatches(true, 0, "Bearer mpk_", 0, 11)) {
      key = auth.substring(7).trim();
    }
    return key;
  }

  @Post("/register")
  HttpResponse<ProxyView> register(HttpRequest<?> request, @Body RegisterRequest body) {
    return HttpResponse.created(
        proxies.register(clusterKey(request), body, Authenticator.source(request)));
  }

  @Post("/{id}/heartbeat")
  ProxyView heartbeat(
      HttpRequest<?> request, @PathVariable UUID id, @Nullable @Body Heartbeat body) {
    return proxies.heartbeat(clusterKey(request), id, body == null ? null : body.appliedRevision());
  }

  @Get
  Page<ProxyView> list(
      HttpRequest<?> request,
      @Nullable @QueryValue UUID clusterId,
      @Nullable @QueryValue String status,
      @Nullable @QueryValue Integer limit,
      @Nullable @QueryValue String cursor) {
    if (status != null && !Set.of("online", "stale", "offline").contains(status)) {
      throw ApiException.invalid("status", "must be online, stale or offline");
    }
    return proxies.list(
        authenticator.require(request), clusterId, status, PageRequest.of(limit, cursor));
  }

  @Get("/{id}")
  ProxyView get(HttpRequest<?> request, @PathVariable UUID id) {
    return proxies.get(authenticator.require(request), id);
  }

  @Delete("/{id}")
  @Status(HttpStatus.NO_CONTENT)
  void delete(HttpRequest<?> request, @PathVariable UUID id) {
    proxies.delete(authenticator.require(request), id);
  }
}
