package io.pisync.telemetry;

import java.time.Instant;
import java.util.Objects;
import java.util.UUID;
import java.util.regex.Pattern;

/**
 * A sync attempt as a device reports it, valid once constructed. {@code eventId} is the device's
 * idempotency key, absent when the device did not send one.
 */
public record SyncEvent(
    UUID eventId,
    String deviceId,
    Instant timestamp,
    int totalFilesSynced,
    int totalErrors,
    double internetSpeed,
    Long durationMs,
    Long bytesSynced,
    String errorMessage,
    String appVersion) {

  public static final Pattern DEVICE_ID = Pattern.compile("[A-Za-z0-9._:-]{1,64}");
  public static final int MAX_ERROR_MESSAGE = 2000;
  public static final int MAX_APP_VERSION = 64;
  public static final double MAX_SPEED_MBPS = 1_000_000;

  public SyncEvent {
    Objects.requireNonNull(timestamp, "timestamp");
    if (deviceId == null || !DEVICE_ID.matcher(deviceId).matches()) {
      throw new IllegalArgumentException("invalid device_id: " + deviceId);
    }
    requireNonNegative("total_files_synced", totalFilesSynced);
    requireNonNegative("total_errors", totalErrors);
    if (!(internetSpeed >= 0 && internetSpeed <= MAX_SPEED_MBPS)) {
      throw new IllegalArgumentException("invalid internet_speed: " + internetSpeed);
    }
    if (durationMs != null) requireNonNegative("duration_ms", durationMs);
    if (bytesSynced != null) requireNonNegative("bytes_synced", bytesSynced);
    if (errorMessage != null && errorMessage.length() > MAX_ERROR_MESSAGE) {
      throw new IllegalArgumentException("error_message too long");
    }
    if (appVersion != null && appVersion.length() > MAX_APP_VERSION) {
      throw new IllegalArgumentException("app_version too long");
    }
  }

  public SyncStatus status() {
    return SyncStatus.of(totalFilesSynced, totalErrors);
  }

  public boolean hasClientId() {
    return eventId != null;
  }

  private static void requireNonNegative(String field, long value) {
    if (value < 0) {
      throw new IllegalArgumentException(field + " must be >= 0: " + value);
    }
  }
}
