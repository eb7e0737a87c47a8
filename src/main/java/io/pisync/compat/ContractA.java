package io.pisync.compat;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.pisync.telemetry.StoredEvent;
import io.pisync.telemetry.SyncStatus;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * The wire shapes of contract A (the Express + Sequelize PiSync, base {@code /api/piSync}): field
 * names and nesting as A sent them, with A's bugs left out (speeds are JSON numbers, the average
 * speed is never null, {@code device_id} is the device's own id).
 */
final class ContractA {
  /** Sequelize's date format: UTC with milliseconds. */
  private static final DateTimeFormatter TIME =
      DateTimeFormatter.ofPattern("uuuu-MM-dd'T'HH:mm:ss.SSS'Z'").withZone(ZoneOffset.UTC);

  private ContractA() {}

  static String time(Instant instant) {
    return instant == null ? null : TIME.format(instant);
  }

  /** The stored event, as A's POST answered; {@code createdAt}/{@code updatedAt} = received. */
  record Event(
      UUID id,
      String deviceId,
      String timestamp,
      int totalFilesSynced,
      int totalErrors,
      double internetSpeed,
      SyncStatus syncStatus,
      Long syncDuration,
      String errorDetails,
      @JsonProperty("createdAt") String createdAt,
      @JsonProperty("updatedAt") String updatedAt) {

    static Event of(StoredEvent e) {
      return new Event(
          e.eventId(),
          e.deviceId(),
          time(e.timestamp()),
          e.totalFilesSynced(),
          e.totalErrors(),
          e.internetSpeed(),
          e.status(),
          seconds(e.durationMs()),
          e.errorMessage(),
          time(e.receivedAt()),
          time(e.receivedAt()));
    }
  }

  /** One item of {@code sync_history}: the event without device or row timestamps. */
  record HistoryItem(
      UUID id,
      String timestamp,
      int totalFilesSynced,
      int totalErrors,
      double internetSpeed,
      SyncStatus syncStatus,
      Long syncDuration,
      String errorDetails) {

    static HistoryItem of(StoredEvent e) {
      return new HistoryItem(
          e.eventId(),
          time(e.timestamp()),
          e.totalFilesSynced(),
          e.totalErrors(),
          e.internetSpeed(),
          e.status(),
          seconds(e.durationMs()),
          e.errorMessage());
    }
  }

  /** A's device row. PiSync has no device types and no deactivation: null and true. */
  record Device(
      String deviceId,
      String deviceType,
      String lastSeen,
      long totalSyncAttempts,
      long totalFailedSyncs,
      int consecutiveFailures,
      @JsonProperty("is_active") boolean active) {

    static Device of(CompatStore.Device d) {
      return new Device(
          d.deviceId(),
          null,
          time(d.lastSyncAt()),
          d.totalSyncs(),
          d.failedSyncs(),
          d.consecutiveFailures(),
          true);
    }
  }

  /** Over all the device's events. A counted partial syncs as successes. */
  record Statistics(
      long totalEvents, String successRate, long averageFilesPerSync, double averageInternetSpeed) {

    static Statistics of(CompatStore.Device d) {
      long n = d.totalSyncs();
      if (n == 0) {
        return new Statistics(0, "0%", 0, 0);
      }
      return new Statistics(
          n,
          percent(n - d.failedSyncs(), n),
          Math.round((double) d.totalFiles() / n),
          twoDecimals(d.speedSum() / n));
    }
  }

  record Pagination(int currentPage, int perPage, long totalRecords, long totalPages) {
    static Pagination of(PageRequest page, long totalRecords) {
      return new Pagination(page.page(), page.limit(), totalRecords, page.totalPages(totalRecords));
    }
  }

  record History(
      Device device, Statistics statistics, List<HistoryItem> syncHistory, Pagination pagination) {

    static History of(CompatStore.Device d, List<StoredEvent> events, PageRequest page) {
      return new History(
          Device.of(d),
          Statistics.of(d),
          events.stream().map(HistoryItem::of).toList(),
          Pagination.of(page, d.totalSyncs()));
    }
  }

  record Summary(
      long totalProblemDevices, double avgConsecutiveFailures, int maxConsecutiveFailures) {

    static Summary of(CompatStore.FailureSummary s) {
      return new Summary(s.devices(), s.avgConsecutiveFailures(), s.maxConsecutiveFailures());
    }
  }

  record FailedEvent(String timestamp, int totalErrors, String errorDetails) {
    static FailedEvent of(StoredEvent e) {
      return new FailedEvent(time(e.timestamp()), e.totalErrors(), e.errorMessage());
    }
  }

  record ProblemDevice(
      String deviceId,
      String deviceType,
      int consecutiveFailures,
      long totalFailedSyncs,
      long totalSyncAttempts,
      String lastSeen,
      String failureRate,
      List<FailedEvent> recentFailedEvents) {

    static ProblemDevice of(CompatStore.Device d, List<StoredEvent> recent) {
      return new ProblemDevice(
          d.deviceId(),
          null,
          d.consecutiveFailures(),
          d.failedSyncs(),
          d.totalSyncs(),
          time(d.lastSyncAt()),
          d.totalSyncs() == 0 ? "0%" : percent(d.failedSyncs(), d.totalSyncs()),
          recent.stream().map(FailedEvent::of).toList());
    }
  }

  /**
   * {@code min_failures} is "at least", so threshold + 1; {@code days_lookback} null = all time.
   */
  record Filters(long minFailures, Integer daysLookback) {}

  record RepeatedFailures(
      Summary summary, List<ProblemDevice> devices, Pagination pagination, Filters filters) {

    static RepeatedFailures of(
        CompatStore.FailureSummary summary,
        List<CompatStore.FailingDevice> page,
        Map<String, List<StoredEvent>> recent,
        FailureRequest request) {
      List<ProblemDevice> devices =
          page.stream()
              .map(f ->
                  ProblemDevice.of(
                      f.device(), recent.getOrDefault(f.device().deviceId(), List.of())))
              .toList();
      return new RepeatedFailures(
          Summary.of(summary),
          devices,
          Pagination.of(request.page(), summary.devices()),
          new Filters(request.query().threshold() + 1L, request.days()));
    }
  }

  /** As JavaScript's {@code (part / whole * 100).toFixed(2) + '%'}. */
  static String percent(long part, long whole) {
    return BigDecimal.valueOf(part * 100)
            .divide(BigDecimal.valueOf(whole), 2, RoundingMode.HALF_UP)
            .toPlainString()
        + "%";
  }

  private static double twoDecimals(double value) {
    return BigDecimal.valueOf(value).setScale(2, RoundingMode.HALF_UP).doubleValue();
  }

  private static Long seconds(Long durationMs) {
    return durationMs == null ? null : durationMs / 1000;
  }
}
