package io.pisync.compat;

import io.pisync.http.QueryParams;

/** A page by number, as the earlier APIs paged: {@code page} from 1, {@code limit} per page. */
record PageRequest(int page, int limit) {

  /** Reads {@code page} and {@code limit}; bad values are reported by {@code params.check()}. */
  static PageRequest read(QueryParams params, int defaultLimit, int maxLimit) {
    int page = params.integer("page", 1, 1, Integer.MAX_VALUE);
    int limit = params.integer("limit", defaultLimit, 1, maxLimit);
    return new PageRequest(page, limit);
  }

  long offset() {
    return (long) (page - 1) * limit;
  }

  long totalPages(long totalRecords) {
    return (totalRecords + limit - 1) / limit;
  }
}
