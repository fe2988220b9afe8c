package io.marchproxy.api.paging;

import io.micronaut.core.annotation.Nullable;
import io.micronaut.serde.annotation.Serdeable;
import java.util.List;
import java.util.function.Function;

/** One page of a list; {@code nextCursor} is absent on the last page. */
@Serdeable
public record Page<T>(List<T> items, @Nullable String nextCursor) {

  /**
   * Builds a page from up to {@code limit + 1} rows fetched in sort order: the extra row only tells
   * that there is more.
   */
  public static <T> Page<T> of(List<T> rows, PageRequest request, Function<T, String> sortKey) {
    if (rows.size() <= request.limit()) {
      return new Page<>(rows, null);
    }
    List<T> items = rows.subList(0, request.limit());
    return new Page<>(List.copyOf(items), PageRequest.encode(sortKey.apply(items.getLast())));
  }
}
