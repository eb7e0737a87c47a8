package io.pisync.sync;

import java.time.Instant;
import java.util.Objects;

/**
 * A record's current state as stored.
 *
 * @param data the JSON object as text; null for a tombstone
 * @param seq feed position of the latest change (0 until the change commits)
 * @param exact whether {@code data} is exactly what {@code updatedBy} sent (false after a merge)
 */
public record StoredRecord(
    RecordKey key,
    long version,
    boolean deleted,
    String data,
    Instant modifiedAt,
    Instant updatedAt,
    String updatedBy,
    String mutationId,
    boolean exact,
    long seq) {

  public StoredRecord {
    Objects.requireNonNull(key, "key");
    Objects.requireNonNull(modifiedAt, "modifiedAt");
    Objects.requireNonNull(updatedAt, "updatedAt");
    Objects.requireNonNull(updatedBy, "updatedBy");
    Objects.requireNonNull(mutationId, "mutationId");
    if (version < 1) throw new IllegalArgumentException("version " + version);
    if (deleted != (data == null)) throw new IllegalArgumentException("tombstones have no data");
  }

  StoredRecord atSeq(long position) {
    return new StoredRecord(
        key, version, deleted, data, modifiedAt, updatedAt, updatedBy, mutationId, exact, position);
  }
}
