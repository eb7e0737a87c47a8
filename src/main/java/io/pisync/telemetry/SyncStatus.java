package io.pisync.telemetry;

import com.fasterxml.jackson.annotation.JsonValue;
import java.util.Locale;

/** Outcome of one sync attempt, derived from its counters. */
public enum SyncStatus {
  /** No errors. */
  SUCCESS,
  /** Errors, but some files synced. */
  PARTIAL,
  /** Errors and no file synced. */
  FAILED;

  public static SyncStatus of(int filesSynced, int errors) {
    if (errors == 0) {
      return SUCCESS;
    }
    return filesSynced > 0 ? PARTIAL : FAILED;
  }

  @JsonValue
  public String wire() {
    return name().toLowerCase(Locale.ROOT);
  }

  public static SyncStatus fromWire(String value) {
    return valueOf(value.toUpperCase(Locale.ROOT));
  }
}
