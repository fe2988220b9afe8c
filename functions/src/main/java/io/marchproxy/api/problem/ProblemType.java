package io.marchproxy.api.problem;

import io.micronaut.http.HttpStatus;

/** Every error the API returns: a stable {@code type} URI, its status and title. */
public enum ProblemType {
  VALIDATION_FAILED(HttpStatus.BAD_REQUEST, "The request is not valid"),
  BAD_REQUEST(HttpStatus.BAD_REQUEST, "Bad request"),
  UNAUTHORIZED(HttpStatus.UNAUTHORIZED, "Authentication required"),
  LICENSE_REQUIRED(HttpStatus.PAYMENT_REQUIRED, "Not included in the license"),
  FORBIDDEN(HttpStatus.FORBIDDEN, "Not allowed"),
  LICENSE_LIMIT(HttpStatus.FORBIDDEN, "License limit reached"),
  NOT_FOUND(HttpStatus.NOT_FOUND, "Not found"),
  METHOD_NOT_ALLOWED(HttpStatus.METHOD_NOT_ALLOWED, "Method not allowed"),
  NOT_ACCEPTABLE(HttpStatus.NOT_ACCEPTABLE, "Not acceptable"),
  CONFLICT(HttpStatus.CONFLICT, "Conflict"),
  PRECONDITION_FAILED(HttpStatus.PRECONDITION_FAILED, "The resource changed since it was read"),
  PAYLOAD_TOO_LARGE(HttpStatus.REQUEST_ENTITY_TOO_LARGE, "Request body too large"),
  UNSUPPORTED_MEDIA_TYPE(HttpStatus.UNSUPPORTED_MEDIA_TYPE, "Unsupported media type"),
  THROTTLED(HttpStatus.TOO_MANY_REQUESTS, "Too many requests"),
  INTERNAL(HttpStatus.INTERNAL_SERVER_ERROR, "Internal error"),
  UNAVAILABLE(HttpStatus.SERVICE_UNAVAILABLE, "Temporarily unavailable");

  private final HttpStatus status;
  private final String title;

  ProblemType(HttpStatus status, String title) {
    this.status = status;
    this.title = title;
  }

  public HttpStatus status() {
    return status;
  }

  public String title() {
    return title;
  }

  public String uri() {
    return "urn:marchproxy:problem:" + name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
  }

  /** The type the API uses for an HTTP status the framework produced. */
  public static ProblemType forStatus(int status) {
    return switch (status) {
      case 400 -> BAD_REQUEST;
      case 401 -> UNAUTHORIZED;
      case 402 -> LICENSE_REQUIRED;
      case 403 -> FORBIDDEN;
      case 404 -> NOT_FOUND;
      case 405 -> METHOD_NOT_ALLOWED;
      case 406 -> NOT_ACCEPTABLE;
      case 409 -> CONFLICT;
      case 412 -> PRECONDITION_FAILED;
      case 413 -> PAYLOAD_TOO_LARGE;
      case 415 -> UNSUPPORTED_MEDIA_TYPE;
      case 429 -> THROTTLED;
      case 503 -> UNAVAILABLE;
      default -> status >= 500 ? INTERNAL : BAD_REQUEST;
    };
  }
}
