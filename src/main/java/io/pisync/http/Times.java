package io.pisync.http;

import java.time.Instant;

/** The span of times PiSync accepts from clients: what PostgreSQL and java.sql can both hold. */
public final class Times {
  public static final Instant EARLIEST = Instant.parse("1970-01-01T00:00:00Z");
  public static final Instant LATEST = Instant.parse("9999-12-31T23:59:59Z");
  static final String RANGE = EARLIEST + " and " + LATEST;

  private Times() {}

  public static boolean inRange(Instant t) {
    return !t.isBefore(EARLIEST) && !t.isAfter(LATEST);
  }
}
