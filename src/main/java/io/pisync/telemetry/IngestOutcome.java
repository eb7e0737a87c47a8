package io.pisync.telemetry;

/** What became of one reported event. */
public sealed interface IngestOutcome {
  StoredEvent event();

  /** Stored now, counted once. */
  record Created(StoredEvent event) implements IngestOutcome {}

  /** Its event_id was seen before: the original, not counted again. */
  record Duplicate(StoredEvent event) implements IngestOutcome {}

  /** Its event_id belongs to another device's event: refused, nothing stored. */
  record IdConflict(StoredEvent event) implements IngestOutcome {}
}
