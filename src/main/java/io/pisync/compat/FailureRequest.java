package io.pisync.compat;

import io.javalin.http.Context;
import io.pisync.http.ApiProblem;
import io.pisync.http.QueryParams;
import java.time.Duration;
import java.time.InstantSource;
import java.util.Optional;

/**
 * The query of both repeated-failures routes, with the v1 API's definition: a device has repeated
 * failures when it has more than {@code threshold} failed syncs (default 3), or at least {@code
 * min_failures}; with {@code days}, only failures whose device time is in the last {@code days}
 * days count.
 *
 * @param days the window in days, null for all time
 */
record FailureRequest(CompatStore.FailureQuery query, PageRequest page, Integer days) {
  static final int DEFAULT_THRESHOLD = 3;
  private static final int MAX_THRESHOLD = 1_000_000;
  private static final int MAX_DAYS = 3650;

  static FailureRequest read(Context ctx, InstantSource clock, int defaultLimit, int maxLimit) {
    var params = new QueryParams(ctx);
    PageRequest page = PageRequest.read(params, defaultLimit, maxLimit);
    int threshold = params.integer("threshold", DEFAULT_THRESHOLD, 0, MAX_THRESHOLD);
    int minFailures = params.integer("min_failures", DEFAULT_THRESHOLD + 1, 1, MAX_THRESHOLD + 1);
    Integer days = given(ctx, "days") ? params.integer("days", 1, 1, MAX_DAYS) : null;
    params.check();
    if (given(ctx, "threshold") && given(ctx, "min_failures")) {
      throw ApiProblem.invalid(
          "min_failures",
          ctx.queryParam("min_failures"),
          "give either threshold (more than) or min_failures (at least), not both");
    }
    int effective = given(ctx, "min_failures") ? minFailures - 1 : threshold;
    var since = Optional.ofNullable(days).map(d -> clock.instant().minus(Duration.ofDays(d)));
    return new FailureRequest(new CompatStore.FailureQuery(effective, since), page, days);
  }

  private static boolean given(Context ctx, String name) {
    String raw = ctx.queryParam(name);
    return raw != null && !raw.isBlank();
  }
}
