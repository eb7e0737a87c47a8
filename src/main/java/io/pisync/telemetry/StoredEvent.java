package io.pisync.telemetry;

import java.time.Instant;
import java.util.UUID;

/** A sync event as PiSync keeps it: what the device sent plus the server's receive time. */
public record StoredEvent(
    UUID eventId,
    String deviceId,
    Instant timestamp,
    Instant receivedAt,
    SyncStatus status,
    int totalFilesSynced,
    int totalErrors,
    double internetSpeed,
    Long durationMs,
    Long bytesSynced,
    String errorMessage,
    String appVersion) {}
