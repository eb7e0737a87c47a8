package io.pisync.compat;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.pisync.telemetry.StoredEvent;
import io.pisync.telemetry.SyncStatus;
import java.util.UUID;

/**
 * The wire shapes of contract B (the NestJS PiSync, base {@code /api/sync-event}): flat rows and
 * bare arrays. B's id was an integer; PiSync's is the event UUID, and {@code sync_status} is added.
 */
final class ContractB {
  private ContractB() {}

  record Event(
      UUID id,
      String deviceId,
      String timestamp,
      int totalFilesSynced,
      int totalErrors,
      double internetSpeed,
      SyncStatus syncStatus,
      @JsonProperty("createdAt") String createdAt,
      @JsonProperty("updatedAt") String updatedAt) {

    static Event of(StoredEvent e) {
      return new Event(
          e.eventId(),
          e.deviceId(),
          ContractA.time(e.timestamp()),
          e.totalFilesSynced(),
          e.totalErrors(),
          e.internetSpeed(),
          e.status(),
          ContractA.time(e.receivedAt()),
          ContractA.time(e.receivedAt()));
    }
  }

  /** An item of B's repeated-failures array. */
  record DeviceRef(String deviceId) {}
}
