-- EXPLAIN (ANALYZE, BUFFERS) of the read queries as the server sends them (see DeviceStore and
-- EventStore), with the parameters written in. Variables (psql -v): dev (a device id),
-- cutoff (now - 7 days, the "inactive" line), since (the since= value), since_all (now - 1 day).
-- Defaults of the API: threshold 3, limit 50 (the server asks for limit + 1 = 51 rows).
\pset pager off
\set summary 'd.device_id, CASE WHEN d.last_seen_at < ' :'cutoff' '::timestamptz THEN ''inactive'' WHEN d.consecutive_failures > 3 THEN ''failing'' WHEN d.last_status = ''success'' THEN ''healthy'' ELSE ''degraded'' END AS health, d.first_seen_at, d.last_seen_at, d.last_sync_at, d.last_status, d.total_syncs, d.success_count, d.partial_count, d.failed_count, d.total_files, d.total_errors, d.consecutive_failures, d.last_failure_at, d.speed_sum, d.consecutive_unsuccessful, d.last_unsuccessful_at'
\set columns 'event_id, device_id, occurred_at, received_at, status, total_files_synced, total_errors, internet_speed, duration_ms, bytes_synced, error_message, app_version'

\echo '### history: device exists?'
EXPLAIN (ANALYZE, BUFFERS) SELECT 1 FROM devices WHERE device_id = :'dev';
\echo '### history: first page (GET /api/v1/devices/{id}/sync-events)'
EXPLAIN (ANALYZE, BUFFERS) SELECT :columns FROM sync_events WHERE device_id = :'dev'
  ORDER BY occurred_at DESC, event_id DESC LIMIT 51;

\echo '### repeated-failures, default (failed_count > 3)'
EXPLAIN (ANALYZE, BUFFERS) SELECT :summary, d.failed_count AS failures FROM devices d
  WHERE d.failed_count > 0 AND d.failed_count > 3 ORDER BY d.failed_count DESC, d.device_id LIMIT 51;
SELECT string_agg(quote_literal(device_id), ',') AS ids FROM (SELECT device_id FROM devices d
  WHERE d.failed_count > 3 ORDER BY d.failed_count DESC, d.device_id LIMIT 51) x \gset
\echo '### repeated-failures, default: 5 newest failures of each listed device (as the server runs it: enable_sort off)'
BEGIN;
SET LOCAL enable_sort = off;
EXPLAIN (ANALYZE, BUFFERS) SELECT r.* FROM unnest(ARRAY[:ids]::text[]) AS d(device_id)
  CROSS JOIN LATERAL (SELECT :columns FROM sync_events e WHERE e.device_id = d.device_id
  AND e.status <> 'success' AND e.status = 'failed' ORDER BY e.occurred_at DESC LIMIT 5) r;
COMMIT;
\echo '### the same with the planner default (sort): for comparison'
EXPLAIN (ANALYZE, BUFFERS) SELECT r.* FROM unnest(ARRAY[:ids]::text[]) AS d(device_id)
  CROSS JOIN LATERAL (SELECT :columns FROM sync_events e WHERE e.device_id = d.device_id
  AND e.status <> 'success' AND e.status = 'failed' ORDER BY e.occurred_at DESC LIMIT 5) r;

\echo '### repeated-failures, consecutive=true'
EXPLAIN (ANALYZE, BUFFERS) SELECT :summary, d.consecutive_failures AS failures FROM devices d
  WHERE d.consecutive_failures > 3 ORDER BY d.consecutive_failures DESC, d.device_id LIMIT 51;

\echo '### repeated-failures, include_partial=true'
EXPLAIN (ANALYZE, BUFFERS) SELECT :summary, (d.failed_count + d.partial_count) AS failures
  FROM devices d WHERE (d.failed_count + d.partial_count) > 3
  ORDER BY (d.failed_count + d.partial_count) DESC, d.device_id LIMIT 51;

\echo '### repeated-failures, since=' :'since'
EXPLAIN (ANALYZE, BUFFERS) SELECT :summary, f.n AS failures
  FROM (SELECT e.device_id, count(*) AS n FROM sync_events e WHERE e.status = 'failed'
        AND e.occurred_at > :'since'::timestamptz GROUP BY e.device_id
        HAVING count(*) > 3 ORDER BY count(*) DESC, e.device_id LIMIT 51) f
  JOIN devices d ON d.device_id = f.device_id ORDER BY f.n DESC, d.device_id;

\echo '### repeated-failures, since=' :'since_all' '(the whole day: every failed event)'
EXPLAIN (ANALYZE, BUFFERS) SELECT :summary, f.n AS failures
  FROM (SELECT e.device_id, count(*) AS n FROM sync_events e WHERE e.status = 'failed'
        AND e.occurred_at > :'since_all'::timestamptz GROUP BY e.device_id
        HAVING count(*) > 3 ORDER BY count(*) DESC, e.device_id LIMIT 51) f
  JOIN devices d ON d.device_id = f.device_id ORDER BY f.n DESC, d.device_id;
