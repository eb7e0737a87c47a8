package io.pisync.telemetry;

import java.time.Instant;
import java.util.Objects;
import java.util.UUID;

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

  /**
   * Whether {@code id} is a device id: 1 to 64 of {@code A-Z a-z 0-9 . _ : -}. A loop, not a regex:
   * every event's id is checked, and the regex cost about 6% of the batch path's CPU.
   */
  public static boolean isDeviceId(String id) {
    if (id == null || id.isEmpty() || id.length() > 64) return false;
    for (int i = 0; i < id.length(); i++) {
      char c = id.charAt(i);
      boolean allowed =
          (c >= 'a' && c <= 'z')
              || (c >= 'A' && c <= 'Z')
              || (c >= '0' && c <= '9')
              || c == '.'
              || c == '_'
              || c == ':'
              || c == '-';
      if (!allowed) return false;
    }
    return true;
  }

  /**
   * Why an id that {@link #isDeviceId} accepts still cannot name a device, or null when it can: a
   * device called that could report, but its summary and history could not be read reliably. {@code
   * repeated-failures} is a route under {@code /api/v1/devices/}; {@code .} and {@code ..} are path
   * segments that browsers, curl and most HTTP libraries remove (RFC 3986 5.2.4: {@code
   * /api/v1/devices/./sync-events} becomes {@code /api/v1/devices/sync-events}). Refused in every
   * report and registration.
   */
  public static String reservedDeviceIdReason(String id) {
    return switch (id) {
      case "repeated-failures" ->
          "is reserved: /api/v1/devices/repeated-failures is a route, so this device could never"
              + " be read; choose another id";
      case ".", ".." ->
          "is reserved: '.' and '..' mean the current and parent path in a URL, and most HTTP"
              + " clients remove them, so this device could not be read reliably; choose another"
              + " id";
      default -> null;
    };
  }

  /** Why an id is not a device id, as reports, registration and the operator routes say it. */
  public static final String DEVICE_ID_RULE =
      "must be 1 to 64 characters of ASCII letters, digits, '.', '_', ':' or '-'";

  public static final int MAX_ERROR_MESSAGE = 2000;
  public static final int MAX_APP_VERSION = 64;
  public static final double MAX_SPEED_MBPS = 1_000_000;

  public SyncEvent {
    Objects.requireNonNull(timestamp, "timestamp");
    if (!isDeviceId(deviceId)) {
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
