-- Devices and their counters, kept exact by updating them in the transaction that stores events.
CREATE TABLE devices (
    device_id                text PRIMARY KEY,
    first_seen_at            timestamptz NOT NULL,
    last_seen_at             timestamptz NOT NULL,
    last_sync_at             timestamptz,          -- newest sync, by the device's clock
    last_status              text,                 -- status of that sync
    total_syncs              bigint NOT NULL DEFAULT 0,
    success_count            bigint NOT NULL DEFAULT 0,
    partial_count            bigint NOT NULL DEFAULT 0,
    failed_count             bigint NOT NULL DEFAULT 0,
    total_files              bigint NOT NULL DEFAULT 0,
    total_errors             bigint NOT NULL DEFAULT 0,
    speed_sum                double precision NOT NULL DEFAULT 0,
    last_ok_at               timestamptz,          -- newest sync that did not fail
    last_success_at          timestamptz,          -- newest fully successful sync
    last_failure_at          timestamptz,
    last_unsuccessful_at     timestamptz,          -- newest failed or partial sync
    consecutive_failures     integer NOT NULL DEFAULT 0, -- failed syncs after last_ok_at
    consecutive_unsuccessful integer NOT NULL DEFAULT 0, -- failed or partial after last_success_at
    CONSTRAINT devices_status_check CHECK (last_status IN ('success', 'partial', 'failed'))
);

-- Repeated-failure queries read these in order: failure count descending, then device id.
CREATE INDEX devices_failed_idx ON devices (failed_count DESC, device_id) WHERE failed_count > 0;
CREATE INDEX devices_unsuccessful_idx ON devices ((failed_count + partial_count) DESC, device_id)
    WHERE failed_count + partial_count > 0;
CREATE INDEX devices_consecutive_idx ON devices (consecutive_failures DESC, device_id)
    WHERE consecutive_failures > 0;
CREATE INDEX devices_consecutive_unsuccessful_idx
    ON devices (consecutive_unsuccessful DESC, device_id) WHERE consecutive_unsuccessful > 0;
CREATE INDEX devices_status_idx ON devices (last_status, device_id);

-- Every sync attempt, partitioned by month of the server's receive time (a clock we trust;
-- device clocks can be years off).
CREATE TABLE sync_events (
    event_id            uuid NOT NULL,
    device_id           text NOT NULL,
    occurred_at         timestamptz NOT NULL,
    received_at         timestamptz NOT NULL,
    status              text NOT NULL CHECK (status IN ('success', 'partial', 'failed')),
    total_files_synced  integer NOT NULL CHECK (total_files_synced >= 0),
    total_errors        integer NOT NULL CHECK (total_errors >= 0),
    internet_speed      double precision NOT NULL CHECK (internet_speed >= 0),
    duration_ms         bigint CHECK (duration_ms >= 0),
    bytes_synced        bigint CHECK (bytes_synced >= 0),
    error_message       text,
    app_version         text
) PARTITION BY RANGE (received_at);

-- History pages (newest first) and streak recounts.
CREATE INDEX sync_events_device_time_idx ON sync_events (device_id, occurred_at DESC, event_id DESC);
-- Recent failures of one device, and failures since a time.
CREATE INDEX sync_events_device_unsuccessful_idx ON sync_events (device_id, occurred_at DESC)
    WHERE status <> 'success';
CREATE INDEX sync_events_unsuccessful_time_idx ON sync_events (occurred_at, device_id, status)
    WHERE status <> 'success';
-- Fleet statistics over recent hours; cheap because rows arrive roughly in time order.
CREATE INDEX sync_events_occurred_brin ON sync_events USING brin (occurred_at);

CREATE TABLE sync_events_default PARTITION OF sync_events DEFAULT;

-- Device-chosen event ids seen so far: a global unique key that a partitioned table cannot hold.
CREATE TABLE sync_event_ids (
    event_id     uuid PRIMARY KEY,
    device_id    text NOT NULL,
    occurred_at  timestamptz NOT NULL,
    received_at  timestamptz NOT NULL
);

-- Creates the monthly partitions from the month of from_time on, for months_ahead more months.
CREATE FUNCTION pisync_ensure_partitions(from_time timestamptz, months_ahead integer)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    month_start date := date_trunc('month', from_time AT TIME ZONE 'UTC')::date;
    created integer := 0;
    part_name text;
BEGIN
    FOR i IN 0..months_ahead LOOP
        part_name := format('sync_events_%s', to_char(month_start + make_interval(months => i), 'YYYY_MM'));
        IF to_regclass(part_name) IS NULL THEN
            EXECUTE format(
                'CREATE TABLE %I PARTITION OF sync_events FOR VALUES FROM (%L) TO (%L)',
                part_name,
                (month_start + make_interval(months => i))::timestamp AT TIME ZONE 'UTC',
                (month_start + make_interval(months => i + 1))::timestamp AT TIME ZONE 'UTC');
            created := created + 1;
        END IF;
    END LOOP;
    RETURN created;
END;
$$;
