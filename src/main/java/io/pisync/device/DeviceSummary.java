package io.pisync.device;

import java.time.Instant;

/** What PiSync knows of one device. Rates and averages are null before its first sync. */
public record DeviceSummary(
    String deviceId,
    String health,
    Instant firstSeenAt,
    Instant lastSeenAt,
    Instant lastSyncAt,
    String lastStatus,
    Totals totals,
    int consecutiveFailures,
    Instant lastFailureAt,
    Double successRate,
    Double failureRate,
    Double averageFilesPerSync,
    Double averageInternetSpeed) {

  /** Lifetime counters. */
  public record Totals(
      long syncs, long success, long partial, long failed, long filesSynced, long errors) {}
}
