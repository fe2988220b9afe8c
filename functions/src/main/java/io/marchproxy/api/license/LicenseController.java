package io.marchproxy.api.license;

import io.marchproxy.api.auth.Authenticator;
import io.marchproxy.api.problem.Checks;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.annotation.Body;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Get;
import io.micronaut.http.annotation.Put;
import io.micronaut.scheduling.TaskExecutors;
import io.micronaut.scheduling.annotation.ExecuteOn;
import io.micronaut.serde.annotation.Serdeable;

@Controller("/api/v1/license")
@ExecuteOn(TaskExecutors.BLOCKING)
class LicenseController {

  @Serdeable
  record InstallRequest(@Nullable String key) {
    @Override
    public String toString() {
      return "InstallRequest";
    }
  }

  private final LicenseService licenses;
  private final Authenticator authenticator;

  LicenseController(LicenseService licenses, Authenticator authenticator) {
    this.licenses = licenses;
    this.authenticator = authenticator;
  }

  @Get
  LicenseService.LicenseView get(HttpRequest<?> request) {
    authenticator.require(request);
    return licenses.view();
  }

  @Put
  LicenseService.LicenseView install(HttpRequest<?> request, @Body InstallRequest body) {
    var actor = authenticator.require(request);
    new Checks()
        .check(body.key() != null && !body.key().isBlank(), "key", "is required")
        .throwIfInvalid();
    return licenses.install(actor, body.key());
  }
}
