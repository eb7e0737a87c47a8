package io.pisync.telemetry;

import java.time.Instant;

/**
 * How one transaction's new events change a device's counters. Built against the device's state
 * read under its row lock, so the streak arithmetic is exact whatever the arrival order.
 */
final class DeviceDelta {
  final String deviceId;
  private final Instant oldLastOk;
  private final Instant oldLastSuccess;
  int count;
  int success;
  int partial;
  int failed;
  long files;
  long errors;
  double speedSum;
  Instant maxTimestamp;
  SyncStatus latestStatus;
  Instant maxOk;
  Instant maxSuccess;
  Instant maxFailed;
  Instant maxUnsuccessful;
  int failedAfterOldOk;
  int unsuccessfulAfterOldSuccess;

  DeviceDelta(String deviceId, Instant oldLastOk, Instant oldLastSuccess) {
    this.deviceId = deviceId;
    this.oldLastOk = oldLastOk;
    this.oldLastSuccess = oldLastSuccess;
  }

  void add(StoredEvent e) {
    count++;
    files += e.totalFilesSynced();
    errors += e.totalErrors();
    speedSum += e.internetSpeed();
    Instant t = e.timestamp();
    if (maxTimestamp == null || !t.isBefore(maxTimestamp)) {
      maxTimestamp = t;
      latestStatus = e.status();
    }
    switch (e.status()) {
      case SUCCESS -> {
        success++;
        maxOk = later(maxOk, t);
        maxSuccess = later(maxSuccess, t);
      }
      case PARTIAL -> {
        partial++;
        maxOk = later(maxOk, t);
        maxUnsuccessful = later(maxUnsuccessful, t);
        if (oldLastSuccess == null || t.isAfter(oldLastSuccess)) unsuccessfulAfterOldSuccess++;
      }
      case FAILED -> {
        failed++;
        maxFailed = later(maxFailed, t);
        maxUnsuccessful = later(maxUnsuccessful, t);
        if (oldLastOk == null || t.isAfter(oldLastOk)) failedAfterOldOk++;
        if (oldLastSuccess == null || t.isAfter(oldLastSuccess)) unsuccessfulAfterOldSuccess++;
      }
    }
  }

  /** A newer non-failed sync moved the streak's start: count the failures after it again. */
  boolean recountFailures() {
    return maxOk != null && (oldLastOk == null || maxOk.isAfter(oldLastOk));
  }

  boolean recountUnsuccessful() {
    return maxSuccess != null && (oldLastSuccess == null || maxSuccess.isAfter(oldLastSuccess));
  }

  private static Instant later(Instant a, Instant b) {
    return a == null || b.isAfter(a) ? b : a;
  }
}
