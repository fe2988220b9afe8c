package io.marchproxy.api.users;

import io.marchproxy.api.auth.Authenticator;
import io.marchproxy.api.paging.Page;
import io.marchproxy.api.paging.PageRequest;
import io.marchproxy.api.problem.Checks;
import io.marchproxy.api.problem.ETags;
import io.marchproxy.core.users.PasswordHasher;
import io.marchproxy.core.users.Role;
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
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.UUID;
import java.util.regex.Pattern;

@Controller("/api/v1/users")
@ExecuteOn(TaskExecutors.BLOCKING)
class UsersController {

  private static final Pattern USERNAME = Pattern.compile("^[a-z0-9][a-z0-9._-]{0,63}$");
  private static final Set<String> ROLES = Set.of("admin", "operator", "viewer");

  @Serdeable
  record UserRequest(
      @Nullable String username,
      @Nullable String password,
      @Nullable String role,
      @Nullable List<UUID> allowedClusters,
      @Nullable Boolean disabled) {
    @Override
    public String toString() {
      return "UserRequest[" + username + ", " + role + "]";
    }
  }

  private final UserService users;
  private final Authenticator authenticator;

  UsersController(UserService users, Authenticator authenticator) {
    this.users = users;
    this.authenticator = authenticator;
  }

  private static void checkPassword(Checks c, String password) {
    try {
      PasswordHasher.requireAcceptable(password.toCharArray());
    } catch (IllegalArgumentException e) {
      c.check(false, "password", e.getMessage().replaceFirst("^password ", ""));
    }
  }

  @Post
  HttpResponse<UserService.UserView> create(HttpRequest<?> request, @Body UserRequest body) {
    var actor = authenticator.require(request);
    var c = new Checks();
    if (c.required(body.username(), "username")) {
      c.check(
          USERNAME.matcher(body.username()).matches(),
          "username",
          "must be 1-64 lower-case letters, digits, '.', '_' or '-'");
    }
    if (c.required(body.password(), "password")) {
      checkPassword(c, body.password());
    }
    if (c.required(body.role(), "role")) {
      c.check(ROLES.contains(body.role()), "role", "must be admin, operator or viewer");
    }
    c.check(
        body.allowedClusters() == null
            || "operator".equals(body.role())
            || "viewer".equals(body.role()),
        "allowedClusters",
        "applies to operators and viewers only");
    c.throwIfInvalid();
    var u =
        users.create(
            actor,
            body.username(),
            body.password().toCharArray(),
            Role.valueOf(body.role().toUpperCase(Locale.ROOT)),
            body.allowedClusters() == null ? null : Set.copyOf(body.allowedClusters()));
    return ETags.tag(HttpResponse.created(u), u.version());
  }

  @Get
  Page<UserService.UserView> list(
      HttpRequest<?> request,
      @Nullable @QueryValue Integer limit,
      @Nullable @QueryValue String cursor) {
    return users.list(authenticator.require(request), PageRequest.of(limit, cursor));
  }

  @Get("/{id}")
  HttpResponse<UserService.UserView> get(HttpRequest<?> request, @PathVariable UUID id) {
    var u = users.get(authenticator.require(request), id);
    return ETags.tag(HttpResponse.ok(u), u.version());
  }

  @Put("/{id}")
  HttpResponse<UserService.UserView> update(
      HttpRequest<?> request, @PathVariable UUID id, @Body UserRequest body) {
    var actor = authenticator.require(request);
    var c = new Checks();
    c.check(body.username() == null, "username", "cannot be changed");
    if (body.password() != null) {
      checkPassword(c, body.password());
    }
    c.check(
        body.role() == null || ROLES.contains(body.role()),
        "role",
        "must be admin, operator or viewer");
    c.throwIfInvalid();
    boolean clear = body.allowedClusters() != null && body.allowedClusters().isEmpty();
    var u =
        users.update(
            actor,
            id,
            ETags.expectedVersion(request),
            body.role() == null ? null : Role.valueOf(body.role().toUpperCase(Locale.ROOT)),
            body.allowedClusters() == null || clear ? null : Set.copyOf(body.allowedClusters()),
            clear,
            body.disabled(),
            body.password() == null ? null : body.password().toCharArray());
    return ETags.tag(HttpResponse.ok(u), u.version());
  }

  @Delete("/{id}")
  @Status(HttpStatus.NO_CONTENT)
  void delete(HttpRequest<?> request, @PathVariable UUID id) {
    users.delete(authenticator.require(request), id);
  }
}
