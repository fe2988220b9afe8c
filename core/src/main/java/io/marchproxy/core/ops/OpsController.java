package io.marchproxy.core.ops;

import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.HttpStatus;
import io.micronaut.http.MediaType;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Get;
import io.micronaut.scheduling.TaskExecutors;
import io.micronaut.scheduling.annotation.ExecuteOn;
import io.micronaut.serde.annotation.Serdeable;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Process health for orchestrators and load balancers: {@code /healthz} (the process is up), {@code
 * /readyz} (every {@link ReadinessCheck} passes) and {@code /metrics} (Prometheus).
 */
@Controller
final class OpsController {

  private final List<ReadinessCheck> checks;
  private final PrometheusMeterRegistry prometheus;

  OpsController(List<ReadinessCheck> checks, PrometheusMeterRegistry prometheus) {
    this.checks = checks;
    this.prometheus = prometheus;
  }

  @Get(uri = "/healthz", produces = MediaType.APPLICATION_JSON)
  Status healthz() {
    return new Status("up", Map.of());
  }

  @Get(uri = "/readyz", produces = MediaType.APPLICATION_JSON)
  @ExecuteOn(TaskExecutors.BLOCKING)
  HttpResponse<Status> readyz() {
    Map<String, String> details = new LinkedHashMap<>();
    boolean ready = true;
    for (ReadinessCheck check : checks) {
      ReadinessCheck.Result result = check.check();
      ready &= result.ready();
      details.put(check.name(), (result.ready() ? "ok: " : "not ready: ") + result.detail());
    }
    Status body = new Status(ready ? "ready" : "not ready", details);
    return ready
        ? HttpResponse.ok(body)
        : HttpResponse.<Status>status(HttpStatus.SERVICE_UNAVAILABLE).body(body);
  }

  @Get(uri = "/metrics", produces = "text/plain; version=0.0.4; charset=utf-8")
  String metrics() {
    return prometheus.scrape();
  }

  @Serdeable
  record Status(String status, Map<String, String> checks) {}
}
