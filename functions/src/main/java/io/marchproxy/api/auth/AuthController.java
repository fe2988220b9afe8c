package io.marchproxy.api.auth;

import io.marchproxy.api.problem.ApiException;
import io.marchproxy.api.problem.Checks;
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
import io.micronaut.http.annotation.Status;
import io.micronaut.scheduling.TaskExecutors;
import io.micronaut.scheduling.annotation.ExecuteOn;
import io.micronaut.serde.annotation.Serdeable;
import java.util.List;
import java.util.UUID;

@Controller("/api/v1/auth")
@ExecuteOn(TaskExecutors.BLOCKING)
class AuthController {

  @Serdeable
  record LoginRequest(@Nullable String username, @Nullable String password) {
    @Override
    public String toString() {
      return "LoginRequest[" + username + "]";
    }
  }

  @Serdeable
  record RefreshRequest(@Nullable String refreshToken) {
    @Override
    public String toString() {
      return "RefreshRequest";
    }
  }

  @Serdeable
  record CreateTokenRequest(@Nullable String name, @Nullable Integer expiresInDays) {}

  @Serdeable
  record Me(
      UUID id, String username, String role, List<UUID> allowedClusters, String authenticatedBy) {}

  private final AuthService auth;
  private final Authenticator authenticator;

  AuthController(AuthService auth, Authenticator authenticator) {
    this.auth = auth;
    this.authenticator = authenticator;
  }

  @Post("/login")
  AuthService.TokenPair login(HttpRequest<?> request, @Body LoginRequest body) {
    var checks = new Checks();
    checks.required(body.username(), "username");
    checks.required(body.password(), "password");
    checks.maxLength(body.username(), 64, "username").maxLength(body.password(), 1024, "password");
    checks.throwIfInvalid();
    return auth.login(
        body.username(), body.password().toCharArray(), Authenticator.source(request));
  }

  @Post("/refresh")
  AuthService.TokenPair refresh(@Body RefreshRequest body) {
    new Checks().check(body.refreshToken() != null, "refreshToken", "is required").throwIfInvalid();
    return switch (auth.refresh(body.refreshToken())) {
      case AuthService.Refresh.Issued issued -> issued.tokens();
      case AuthService.Refresh.Refused refused -> throw ApiException.unauthorized(refused.reason());
    };
  }

  @Post("/logout")
  @Status(HttpStatus.NO_CONTENT)
  void logout(@Body RefreshRequest body) {
    new Checks().check(body.refreshToken() != null, "refreshToken", "is required").throwIfInvalid();
    auth.logout(body.refreshToken());
  }

  @Get("/me")
  Me me(HttpRequest<?> request) {
    Actor a = authenticator.require(request);
    return new Me(
        a.userId(),
        a.username(),
        a.role().name().toLowerCase(),
        a.allowedClusters() == null ? null : a.allowedClusters().stream().sorted().toList(),
        a.via());
  }

  @Post("/tokens")
  HttpResponse<AuthService.CreatedApiToken> createToken(
      HttpRequest<?> request, @Body CreateTokenRequest body) {
    Actor actor = authenticator.require(request);
    new Checks()
        .name(body.name(), "name")
        .range(body.expiresInDays(), 1, 3650, "expiresInDays")
        .throwIfInvalid();
    return HttpResponse.created(auth.createApiToken(actor, body.name(), body.expiresInDays()));
  }

  @Get("/tokens")
  List<AuthService.ApiToken> tokens(HttpRequest<?> request) {
    return auth.apiTokens(authenticator.require(request));
  }

  @Delete("/tokens/{id}")
  @Status(HttpStatus.NO_CONTENT)
  void revokeToken(HttpRequest<?> request, @PathVariable UUID id) {
    auth.revokeApiToken(authenticator.require(request), id);
  }
}
