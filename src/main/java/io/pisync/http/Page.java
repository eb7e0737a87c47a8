package io.pisync.http;

import java.util.List;
import java.util.function.Function;

/** One page of a list: its items and the cursor of the next page ({@code null} on the last one). */
public record Page<T>(List<T> items, String nextCursor) {

  /** Builds a page from up to {@code limit + 1} rows: the extra row only says more remain. */
  public static <T> Page<T> of(List<T> rows, int limit, Function<T, String> cursorOf) {
    if (rows.size() <= limit) {
      return new Page<>(rows, null);
    }
    List<T> items = rows.subList(0, limit);
    return new Page<>(List.copyOf(items), cursorOf.apply(items.getLast()));
  }
}
