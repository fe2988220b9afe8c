package io.marchproxy.api.lambda;

import com.amazonaws.services.lambda.runtime.events.APIGatewayV2HTTPEvent;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;

/**
 * Builds {@link APIGatewayV2HTTPEvent}s the way an API Gateway HTTP API (payload 2.0) with a {@code
 * $default} route sends them: lower-case header names, the client address in {@code
 * requestContext.http.sourceIp}, a raw path and raw query string, and a body that is base64 when it
 * is not text.
 */
final class ApiGatewayEvents {

  static final String SOURCE_IP = "203.0.113.7";
  private static final DateTimeFormatter TIME =
      DateTimeFormatter.ofPattern("dd/MMM/yyyy:HH:mm:ss Z", Locale.ENGLISH)
          .withZone(ZoneOffset.UTC);

  private ApiGatewayEvents() {}

  static APIGatewayV2HTTPEvent request(
      String method, String pathAndQuery, Map<String, String> headers, String body) {
    int q = pathAndQuery.indexOf('?');
    String path = q < 0 ? pathAndQuery : pathAndQuery.substring(0, q);
    String query = q < 0 ? "" : pathAndQuery.substring(q + 1);
    Map<String, String> h = new LinkedHashMap<>();
    h.put("host", "abc123.execute-api.eu-west-1.amazonaws.com");
    h.put("user-agent", "lambda-test");
    h.put("x-forwarded-for", SOURCE_IP);
    h.put("x-forwarded-proto", "https");
    h.put("x-forwarded-port", "443");
    headers.forEach((k, v) -> h.put(k.toLowerCase(Locale.ROOT), v));
    if (body != null) {
      h.put("content-length", Integer.toString(body.getBytes(StandardCharsets.UTF_8).length));
    }
    Instant now = Instant.now();
    return APIGatewayV2HTTPEvent.builder()
        .withVersion("2.0")
        .withRouteKey("$default")
        .withRawPath(path)
        .withRawQueryString(query)
        .withHeaders(h)
        .withRequestContext(
            APIGatewayV2HTTPEvent.RequestContext.builder()
                .withAccountId("123456789012")
                .withApiId("abc123")
                .withDomainName("abc123.execute-api.eu-west-1.amazonaws.com")
                .withDomainPrefix("abc123")
                .withRequestId(UUID.randomUUID().toString())
                .withRouteKey("$default")
                .withStage("$default")
                .withTime(TIME.format(now))
                .withTimeEpoch(now.toEpochMilli())
                .withHttp(
                    APIGatewayV2HTTPEvent.RequestContext.Http.builder()
                        .withMethod(method)
                        .withPath(path)
                        .withProtocol("HTTP/1.1")
                        .withSourceIp(SOURCE_IP)
                        .withUserAgent("lambda-test")
                        .build())
                .build())
        .withBody(body)
        .withIsBase64Encoded(false)
        .build();
  }

  /** The same request with its body sent base64-encoded, as API Gateway does for binary types. */
  static APIGatewayV2HTTPEvent base64Body(APIGatewayV2HTTPEvent event) {
    event.setBody(
        Base64.getEncoder().encodeToString(event.getBody().getBytes(StandardCharsets.UTF_8)));
    event.setIsBase64Encoded(true);
    return event;
  }
}
