package io.marchproxy.api.auth;

import io.marchproxy.api.problem.ApiException;
import io.marchproxy.core.users.Role;
import io.micronaut.http.HttpHeaders;
import io.micronaut.http.HttpRequest;
import jakarta.inject.Singleton;
import java.util.Set;
import java.util.UUID;

/**
 * Turns a request's {@code Authorization: Bearer …} into an {@link Actor}: an access JWT (verified
 * locally, no database round trip) or an API token ({@code mpt_…}, looked up by hash).
 */
@Singleton
public class Authenticator {

  private final AccessTokens accessTokens;
  private final ApiTokenLookup apiTokens;

  Authenticator(AccessTokens accessTokens, ApiTokenLookup apiTokens) {
    this.accessTokens = accessTokens;
    this.apiTokens = apiTokens;
  }

  /** The caller, or 401. Access tokens need no database round trip; API tokens do. */
  public Actor require(HttpRequest<?> request) {
    String header = request.getHeaders().get(HttpHeaders.AUTHORIZATION);
    if (header == null || header.isBlank()) {
      throw ApiException.unauthorized("missing Authorization: Bearer token");
    }
    if (!header.regionMatches(true, 0, "Bearer ", 0, 7)) {
      throw ApiException.unauthorized("Authorization must be a Bearer token");
    }
    String token = header.substring(7).trim();
    String source = source(request);
    if (token.startsWith(AuthService.API_TOKEN_KIND + "_")) {
      return apiTokens.actor(token, source);
    }
    AccessTokens.Claims c =
        accessTokens
            .verify(token)
            .orElseThrow(() -> ApiException.unauthorized("access token invalid or expired"));
    Set<UUID> clusters = c.clusters() == null ? null : Set.copyOf(c.clusters());
    return new Actor(
        UUID.fromString(c.sub()), c.name(), Role.valueOf(c.role()), clusters, "password", source);
  }

  /**
   * The client address: on Lambda the one API Gateway saw (requestContext.http.sourceIp, which the
   * client cannot set), else the connection's remote address.
   */
  public static String source(HttpRequest<?> request) {
    return io.marchproxy.api.lambda.ApiGatewayRequests.sourceIp(request)
        .orElseGet(
            () -> {
              var address = request.getRemoteAddress();
              return address == null || address.getAddress() == null
                  ? "unknown"
                  : address.getAddress().getHostAddress();
            });
  }
}
