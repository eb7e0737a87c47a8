-- Record sync: learning data that devices push and pull, in collections and scopes.

-- The change feed's counter: one row. A writing transaction increments it as its last statement
-- before COMMIT and holds the row lock until COMMIT, so feed positions are handed out in commit
-- order: a reader that sees position n also sees every position below n.
CREATE TABLE sync_feed (
    id    boolean PRIMARY KEY DEFAULT true CHECK (id),
    head  bigint NOT NULL CHECK (head >= 0)
);
INSERT INTO sync_feed (id, head) VALUES (true, 0);

-- Collections and the conflict policy each one follows.
CREATE TABLE sync_collections (
    name         text PRIMARY KEY CHECK (name ~ '^[a-z][a-z0-9_]{0,63}$'),
    policy       text NOT NULL
                 CHECK (policy IN ('merge', 'last_writer_wins', 'locked_after_submit', 'append_only')),
    builtin      boolean NOT NULL DEFAULT false,
    declared_at  timestamptz NOT NULL DEFAULT now()
);
INSERT INTO sync_collections (name, policy, builtin) VALUES
    ('progress', 'merge', true),
    ('notes', 'last_writer_wins', true),
    ('assignments', 'locked_after_submit', true),
    ('quiz_answers', 'append_only', true);

-- Which scopes each device may read and write. A grant and a revocation each take a feed position:
-- a pull whose cursor is older than the grant sends the scope's existing records, and a pull
-- whose range covers the revocation tells the device to drop the scope.
CREATE TABLE sync_grants (
    device_id    text NOT NULL REFERENCES registered_devices ON DELETE CASCADE,
    scope        text NOT NULL,
    granted_seq  bigint,          -- position of the grant in force; null while revoked
    granted_at   timestamptz,
    revoked_seq  bigint,          -- position of the latest revocation
    revoked_at   timestamptz,
    PRIMARY KEY (device_id, scope)
);

-- The current state of every record; deleted records stay as tombstones for the retention window.
-- seq is the feed position of the record's latest change.
CREATE TABLE sync_records (
    scope        text NOT NULL,
    collection   text NOT NULL REFERENCES sync_collections (name),
    record_id    text NOT NULL,
    version      bigint NOT NULL CHECK (version >= 1),
    seq          bigint NOT NULL,
    deleted      boolean NOT NULL,
    data         jsonb,
    modified_at  timestamptz NOT NULL,  -- when the edit was made: device clock, capped at receipt
    updated_at   timestamptz NOT NULL,  -- when the server stored it
    updated_by   text NOT NULL,         -- device whose mutation wrote this version
    mutation_id  text NOT NULL,
    exact        boolean NOT NULL,      -- data is exactly what updated_by sent (not a merge)
    PRIMARY KEY (scope, collection, record_id),
    CHECK (deleted = (data IS NULL))
);
-- Pulls read each scope in feed order.
CREATE UNIQUE INDEX sync_records_feed_idx ON sync_records (scope, seq);
CREATE INDEX sync_records_tombstones_idx ON sync_records (updated_at) WHERE deleted;

-- Versions that lost a conflict (never dropped silently), and edits refused after submission.
CREATE TABLE sync_conflicts (
    id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    scope              text NOT NULL,
    collection         text NOT NULL,
    record_id          text NOT NULL,
    occurred_at        timestamptz NOT NULL,
    reason             text NOT NULL,
    winner_version     bigint NOT NULL,
    winner_device      text NOT NULL,
    loser_version      bigint,          -- set when a stored version was replaced by a later edit
    loser_device       text NOT NULL,
    loser_mutation_id  text NOT NULL,
    loser_deleted      boolean NOT NULL,
    loser_data         jsonb,
    loser_modified_at  timestamptz NOT NULL
);
CREATE INDEX sync_conflicts_record_idx ON sync_conflicts (scope, collection, record_id, id);

-- Every mutation a device pushed, with the answer it got: a replay gets the same answer.
CREATE TABLE sync_mutations (
    device_id    text NOT NULL,
    mutation_id  text NOT NULL,
    received_at  timestamptz NOT NULL,
    digest       text NOT NULL,           -- SHA-256 of the mutation, to refuse a reused id
    status       text NOT NULL CHECK (status IN ('applied', 'conflict', 'rejected')),
    result       text NOT NULL,           -- the JSON answer, byte for byte
    PRIMARY KEY (device_id, mutation_id)
);
CREATE INDEX sync_mutations_rejected_idx ON sync_mutations (device_id, received_at DESC)
    WHERE status = 'rejected';
CREATE INDEX sync_mutations_received_idx ON sync_mutations USING brin (received_at);

-- What operators see per device.
CREATE TABLE sync_device_state (
    device_id            text PRIMARY KEY,
    last_pull_at         timestamptz,
    last_pull_cursor     text,
    last_pull_position   bigint,
    last_pull_changes    integer,
    last_pull_complete   boolean,
    pulls                bigint NOT NULL DEFAULT 0,
    last_push_at         timestamptz,
    last_push_mutations  integer,
    pushes               bigint NOT NULL DEFAULT 0,
    applied              bigint NOT NULL DEFAULT 0,
    duplicates           bigint NOT NULL DEFAULT 0,
    conflicts            bigint NOT NULL DEFAULT 0,
    rejected             bigint NOT NULL DEFAULT 0,
    last_conflict_at     timestamptz,
    last_rejection_at    timestamptz
) WITH (fillfactor = 70);

-- Per scope, the highest feed position of a purged tombstone: a cursor below it may have missed a
-- deletion, so its device must resync.
CREATE TABLE sync_scope_horizon (
    scope           text PRIMARY KEY,
    purged_through  bigint NOT NULL,
    purged_at       timestamptz NOT NULL
);
