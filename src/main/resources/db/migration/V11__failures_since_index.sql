-- The index for "failures since a time" keeps device_id as an included column, not a key.
--
-- As a key it let PostgreSQL 18 (skip scan) pick this index for the newest failures of one device,
-- reading a whole partition's index for each device, whenever the planner has no statistics yet:
-- a new month's partition, or a bulk load before autovacuum analyzed it. Repeated-failures pages
-- then took 50-240 ms instead of 3 ms. Included, device_id still comes from the index for since=
-- counts (index-only scans), but no lookup by device can use it.
CREATE INDEX sync_events_unsuccessful_since_idx ON sync_events (occurred_at, status)
    INCLUDE (device_id) WHERE status <> 'success';
DROP INDEX sync_events_unsuccessful_time_idx;
