package io.marchproxy.api.problem;

import io.micronaut.context.annotation.Primary;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.MediaType;
import io.micronaut.http.MutableHttpResponse;
import io.micronaut.http.annotation.Produces;
import io.micronaut.http.server.exceptions.ExceptionHandler;
import io.micronaut.http.server.exceptions.response.ErrorContext;
import io.micronaut.http.server.exceptions.response.ErrorResponseProcessor;
import jakarta.inject.Singleton;
import java.util.List;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one place errors become {@code application/problem+json}: our {@link ApiException}, and every
 * error the framework produces itself (unknown route, bad JSON, body too large, …).
 */
@Singleton
@Produces(Problem.MEDIA_TYPE)
@Primary
public final class ProblemHandler
    implements ExceptionHandler<ApiException, HttpResponse<Problem>>,
        ErrorResponseProcessor<Problem> {

  private static final Logger LOG = LoggerFactory.getLogger(ProblemHandler.class);
  private static final MediaType PROBLEM = MediaType.of(Problem.MEDIA_TYPE);

  @Override
  public HttpResponse<Problem> handle(HttpRequest request, ApiException e) {
    ProblemType type = e.type();
    var body =
        new Problem(
            type.uri(),
            type.title(),
            type.status().getCode(),
            e.getMessage(),
            request.getPath(),
            e.fieldErrors(),
            e.limit());
    MutableHttpResponse<Problem> response =
        HttpResponse.<Problem>status(type.status()).body(body).contentType(PROBLEM);
    e.headers().forEach(response::header);
    return response;
  }

  @Override
  public MutableHttpResponse<Problem> processResponse(
      ErrorContext context, MutableHttpResponse<?> base) {
    int status = base.code();
    ProblemType type = ProblemType.forStatus(status);
    String detail =
        context.getErrors().stream()
            .map(io.micronaut.http.server.exceptions.response.Error::getMessage)
            .collect(Collectors.joining("; "));
    if (status >= 500) {
      context
          .getRootCause()
          .ifPresent(t -> LOG.error("Unhandled error on {}", context.getRequest().getPath(), t));
      detail = "an internal error occurred; it has been logged";
    }
    var body =
        new Problem(
            type.uri(),
            type.title(),
            status,
            detail.isBlank() ? type.title() : detail,
            context.getRequest().getPath(),
            List.of(),
            null);
    return base.body(body).contentType(PROBLEM);
  }
}
