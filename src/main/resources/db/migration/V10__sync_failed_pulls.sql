-- Pulls the server refused (a cursor too old or not its own): a device stuck answering 410 or 400
-- shows up in its sync state instead of only as a stale last pull.
ALTER TABLE sync_device_state
    ADD COLUMN failed_pulls          bigint NOT NULL DEFAULT 0,
    ADD COLUMN last_pull_error_at    timestamptz,
    ADD COLUMN last_pull_error_type  text,
    ADD COLUMN last_pull_error       text;
