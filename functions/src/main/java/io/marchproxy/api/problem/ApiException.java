package io.marchproxy.api.problem;

import java.util.List;
import java.util.Map;

/**
 * The one error type of the API. Thrown anywhere below a controller, rendered as problem+json in
 * one place ({@link ProblemHandler}); the transaction it crosses rolls back, so nothing is written.
 */
public final class ApiException extends RuntimeException {

  private final ProblemType type;
  private final List<FieldError> fieldErrors;
  private final String limit;
  private final Map<String, String> headers;

  public ApiException(
      ProblemType type,
      String detail,
      List<FieldError> fieldErrors,
      String limit,
      Map<String, String> headers) {
    super(detail, null, false, false);
    this.type = type;
    this.fieldErrors = List.copyOf(fieldErrors);
    this.limit = limit;
    this.headers = Map.copyOf(headers);
  }

  public ApiException(ProblemType type, String detail) {
    this(type, detail, List.of(), null, Map.of());
  }

  public static ApiException invalid(List<FieldError> errors) {
    String first =
        errors.isEmpty()
            ? ""
            : ": " + errors.getFirst().field() + " " + errors.getFirst().message();
    return new ApiException(
        ProblemType.VALIDATION_FAILED,
        errors.size() + " invalid field(s)" + first,
        errors,
        null,
        Map.of());
  }

  public static ApiException invalid(String field, String message) {
    return invalid(List.of(new FieldError(field, message)));
  }

  public static ApiException notFound(String what, Object id) {
    return new ApiException(ProblemType.NOT_FOUND, what + " " + id + " does not exist");
  }

  public static ApiException conflict(String detail) {
    return new ApiException(ProblemType.CONFLICT, detail);
  }

  public static ApiException forbidden(String detail) {
    return new ApiException(ProblemType.FORBIDDEN, detail);
  }

  public static ApiException unauthorized(String detail) {
    return new ApiException(
        ProblemType.UNAUTHORIZED,
        detail,
        List.of(),
        null,
        Map.of("WWW-Authenticate", "Bearer realm=\"marchproxy\""));
  }

  public static ApiException preconditionFailed(String detail) {
    return new ApiException(ProblemType.PRECONDITION_FAILED, detail);
  }

  public static ApiException throttled(String detail, long retryAfterSeconds) {
    return new ApiException(
        ProblemType.THROTTLED,
        detail,
        List.of(),
        null,
        Map.of("Retry-After", String.valueOf(Math.max(1, retryAfterSeconds))));
  }

  public static ApiException licenseLimit(String limit, String detail) {
    return new ApiException(ProblemType.LICENSE_LIMIT, detail, List.of(), limit, Map.of());
  }

  public static ApiException licenseRequired(String feature, String detail) {
    return new ApiException(ProblemType.LICENSE_REQUIRED, detail, List.of(), feature, Map.of());
  }

  public ProblemType type() {
    return type;
  }

  public List<FieldError> fieldErrors() {
    return fieldErrors;
  }

  public String limit() {
    return limit;
  }

  public Map<String, String> headers() {
    return headers;
  }
}
