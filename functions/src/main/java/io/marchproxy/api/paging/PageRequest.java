package io.marchproxy.api.paging;

import io.marchproxy.api.problem.ApiException;
import java.nio.charset.StandardCharsets;
import java.util.Base64;

/** {@code ?limit=&cursor=}: keyset pagination over a stable sort key (name, then id). */
public record PageRequest(int limit, String after) {

  public static final int DEFAULT_LIMIT = 100;
  public static final int MAX_LIMIT = 500;

  public static PageRequest of(Integer limit, String cursor) {
    int l = limit == null ? DEFAULT_LIMIT : limit;
    if (l < 1 || l > MAX_LIMIT) {
      throw ApiException.invalid("limit", "must be between 1 and " + MAX_LIMIT);
    }
    return new PageRequest(l, cursor == null || cursor.isEmpty() ? "" : decode(cursor));
  }

  /** Rows to fetch: one more than the page, to know whether another page follows. */
  public int fetch() {
    return limit + 1;
  }

  static String encode(String sortKey) {
    return Base64.getUrlEncoder()
        .withoutPadding()
        .encodeToString(sortKey.getBytes(StandardCharsets.UTF_8));
  }

  private static String decode(String cursor) {
    try {
      return new String(Base64.getUrlDecoder().decode(cursor), StandardCharsets.UTF_8);
    } catch (IllegalArgumentException e) {
      throw ApiException.invalid("cursor", "is not a cursor this API returned");
    }
  }
}
