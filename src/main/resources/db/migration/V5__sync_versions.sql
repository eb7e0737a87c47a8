-- The effective edit time of each version of records whose policy orders edits by time
-- (last_writer_wins, locked_after_submit). An edit counts as made at least a microsecond after the
-- version it edits (its base_version), whatever the device's clock says: a concurrent edit of an
-- older version needs that version's time, which sync_records no longer holds. Purged with the
-- record's tombstone.
CREATE TABLE sync_versions (
    scope        text NOT NULL,
    collection   text NOT NULL,
    record_id    text NOT NULL,
    version      bigint NOT NULL CHECK (version >= 1),
    modified_at  timestamptz NOT NULL,
    PRIMARY KEY (scope, collection, record_id, version)
);
