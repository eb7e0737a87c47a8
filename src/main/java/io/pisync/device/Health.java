package io.pisync.device;

import com.fasterxml.jackson.annotation.JsonValue;
import java.time.Duration;
import java.util.Locale;

/**
 * A device's health, from its latest syncs and when it was last heard from.
 *
 * <ul>
 *   <li>{@code inactive}: no report for {@link #INACTIVE_AFTER} (offline devices are normal; this
 *       only says how long);
 *   <li>{@code failing}: more than {@link #FAILING_STREAK} failed syncs in a row;
 *   <li>{@code healthy}: the newest sync succeeded;
 *   <li>{@code degraded}: anything else (partial, or a short failure streak).
 * </ul>
 */
public enum Health {
  HEALTHY,
  DEGRADED,
  FAILING,
  INACTIVE;

  public static final Duration INACTIVE_AFTER = Duration.ofDays(7);
  public static final int FAILING_STREAK = 3;

  /** The same rule in SQL, over a {@code devices} row aliased {@code d}; bind the cut-off time. */
  static final String SQL =
      "CASE WHEN d.last_seen_at < ?::timestamptz THEN 'inactive'"
          + " WHEN d.consecutive_failures > "
          + FAILING_STREAK
          + " THEN 'failing'"
          + " WHEN d.last_status = 'success' THEN 'healthy'"
          + " ELSE 'degraded' END";

  @JsonValue
  public String wire() {
    return name().toLowerCase(Locale.ROOT);
  }
}
