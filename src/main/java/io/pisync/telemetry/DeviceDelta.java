package io.pisync.telemetry;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * How one transaction's new events change a device's counters, computed against the device's state
 * read under its row lock, so the arithmetic is exact whatever the concurrency.
 *
 * <p>A streak ("failed syncs after the newest sync that did not fail") follows the device's clock,
 * not arrival order. When the batch holds a newer non-failed sync, the streak restarts after it:
 * only failures newer than it count, and those already stored can be newer only when the stored
 * newest failure is; just then the database must count them again ({@link Streak#recount}).
 */
final class DeviceDelta {
  final String deviceId;
  boolean createdNow;
  int count;
  int success;
  int partial;
  int failed;
  long files;
  long errors;
  double speedSum;
  Instant maxTimestamp;
  SyncStatus latestStatus;
  Instant maxFailed;
  Instant maxUnsuccessful;
  final Streak failures;
  final Streak unsuccessful;

  DeviceDelta(
      String deviceId,
      Instant lastOk,
      Instant lastFailure,
      Instant lastSuccess,
      Instant lastUnsuccessful) {
    this.deviceId = deviceId;
    this.failures = new Streak(lastOk, lastFailure);
    this.unsuccessful = new Streak(lastSuccess, lastUnsuccessful);
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
        failures.reset(t);
        unsuccessful.reset(t);
      }
      case PARTIAL -> {
        partial++;
        failures.reset(t);
        unsuccessful.broken(t);
        maxUnsuccessful = later(maxUnsuccessful, t);
      }
      case FAILED -> {
        failed++;
        failures.broken(t);
        unsuccessful.broken(t);
        maxFailed = later(maxFailed, t);
        maxUnsuccessful = later(maxUnsuccessful, t);
      }
    }
  }

  static Instant later(Instant a, Instant b) {
    return a == null || b.isAfter(a) ? b : a;
  }

  /** One streak counter: bad syncs after the newest good one. */
  static final class Streak {
    private final Instant storedLastGood;
    private final Instant storedLastBad;
    private final List<Instant> bad = new ArrayList<>();
    private Instant lastGood;

    Streak(Instant storedLastGood, Instant storedLastBad) {
      this.storedLastGood = storedLastGood;
      this.storedLastBad = storedLastBad;
    }

    void reset(Instant t) {
      lastGood = later(lastGood, t);
    }

    void broken(Instant t) {
      bad.add(t);
    }

    /** The newest good sync of the batch, if it is newer than the stored one. */
    Instant newLastGood() {
      boolean moved =
          lastGood != null && (storedLastGood == null || lastGood.isAfter(storedLastGood));
      return moved ? lastGood : null;
    }

    /** Stored bad syncs may be newer than the batch's newest good one: count in the database. */
    boolean recount() {
      Instant start = newLastGood();
      return start != null && storedLastBad != null && storedLastBad.isAfter(start);
    }

    /** The new streak when it restarts within this batch (and no recount is needed). */
    Integer restartedValue() {
      Instant start = newLastGood();
      return start == null || recount() ? null : countAfter(start);
    }

    /** How much the stored streak grows when it does not restart. */
    int increment() {
      return newLastGood() == null ? countAfter(storedLastGood) : 0;
    }

    private int countAfter(Instant start) {
      return (int) bad.stream().filter(t -> start == null || t.isAfter(start)).count();
    }
  }
}
