package io.marchproxy.api.lambda;

import com.amazonaws.services.lambda.runtime.events.APIGatewayV2HTTPEvent;
import io.micronaut.http.HttpRequest;
import io.micronaut.servlet.http.ServletHttpRequest;
import java.util.Optional;

/**
 * What API Gateway knows about a request that Micronaut's Lambda request does not expose: on Lambda
 * {@link HttpRequest#getRemoteAddress()} is the function's own loopback address, while API Gateway
 * put the client's address into {@code requestContext.http.sourceIp} (not spoofable by the client,
 * unlike {@code X-Forwarded-For}).
 */
public final class ApiGatewayRequests {

  private ApiGatewayRequests() {}

  /** The client's address as API Gateway saw it; empty when not running behind API Gateway. */
  public static Optional<String> sourceIp(HttpRequest<?> request) {
    if (request instanceof ServletHttpRequest<?, ?> servlet
        && servlet.getNativeRequest() instanceof APIGatewayV2HTTPEvent event
        && event.getRequestContext() != null
        && event.getRequestContext().getHttp() != null) {
      return Optional.ofNullable(event.getRequestContext().getHttp().getSourceIp())
          .filter(ip -> !ip.isBlank());
    }
    return Optional.empty();
  }
}
