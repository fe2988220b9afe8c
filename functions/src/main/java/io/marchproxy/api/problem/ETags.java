package io.marchproxy.api.problem;

import io.micronaut.http.HttpHeaders;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.MutableHttpResponse;

/** Versions as ETags ({@code "7"}); {@code If-Match} guards updates against lost writes. */
public final class ETags {

  private ETags() {}

  public static String of(long version) {
    return "\"" + version + "\"";
  }

  public static <T> MutableHttpResponse<T> tag(MutableHttpResponse<T> response, long version) {
    return response.header(HttpHeaders.ETAG, of(version));
  }

  /** Null when the request has no If-Match (the update is then unconditional). */
  public static Long expectedVersion(HttpRequest<?> request) {
    String value = request.getHeaders().get(HttpHeaders.IF_MATCH);
    if (value == null || value.isBlank() || value.trim().equals("*")) {
      return null;
    }
    String v = value.trim();
    if (v.startsWith("W/")) {
      v = v.substring(2);
    }
    v = v.replace("\"", "");
    try {
      return Long.parseLong(v);
    } catch (NumberFormatException e) {
      throw ApiException.preconditionFailed(
          "If-Match " + value + " is not an ETag this API issued");
    }
  }

  /** 412 unless the caller read the current version. */
  public static void requireMatch(Long expected, long current, String what) {
    if (expected != null && expected != current) {
      throw ApiException.preconditionFailed(
          what
              + " is at version "
              + current
              + ", the request expected "
              + expected
              + "; read it again");
    }
  }
}
