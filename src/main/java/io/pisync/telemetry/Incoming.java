package io.pisync.telemetry;

import java.time.Instant;
import java.util.Objects;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;

/**
 * A valid event as it will be stored, prepared on the request's thread (so the group-commit writer,
 * whose time every waiting request shares, only collects rows). {@code clientKeyed}: the id is the
 * device's own idempotency key rather than one chosen here.
 */
public record Incoming(StoredEvent row, boolean clientKeyed) {
  public Incoming {
    Objects.requireNonNull(row, "row");
  }

  public static Incoming of(SyncEvent e, Instant receivedAt) {
    UUID id = e.hasClientId() ? e.eventId() : newEventId(receivedAt);
    var row =
        new StoredEvent(
            id,
            e.deviceId(),
            e.timestamp(),
            receivedAt,
            e.status(),
            e.totalFilesSynced(),
            e.totalErrors(),
            e.internetSpeed(),
            e.durationMs(),
            e.bytesSynced(),
            e.errorMessage(),
            e.appVersion());
    return new Incoming(row, e.hasClientId());
  }

  /**
   * A version 7 UUID (RFC 9562): milliseconds since the epoch, then 74 random bits. Ids the server
   * chooses are never compared with devices' ones, so a fast non-cryptographic source suffices
   * (UUID.randomUUID's SecureRandom was measurable on the hot path).
   */
  static UUID newEventId(Instant at) {
    var random = ThreadLocalRandom.current();
    long high = (at.toEpochMilli() << 16) | 0x7000L | (random.nextLong() & 0x0FFFL);
    long low = (random.nextLong() & 0x3FFF_FFFF_FFFF_FFFFL) | 0x8000_0000_0000_0000L;
    return new UUID(high, low);
  }
}
