package io.pisync.telemetry;

import java.time.Instant;
import java.util.Objects;

/** A valid event and the server time it was received. */
public record Incoming(SyncEvent event, Instant receivedAt) {
  public Incoming {
    Objects.requireNonNull(event, "event");
    Objects.requireNonNull(receivedAt, "receivedAt");
  }
}
