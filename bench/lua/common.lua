-- Shared by the wrk scripts: per-thread random seeds, event JSON, and a machine-readable summary.

local thread_count = 0
function setup(thread)
  thread_count = thread_count + 1
  thread:set("tid", thread_count)
end

function seed()
  math.randomseed(os.time() * 1000 + (tid or 0) * 7919 + math.floor(os.clock() * 1e6))
  for _ = 1, 10 do math.random() end
end

local OFFSETS = { { "Z", 0 }, { "+00:00", 0 }, { "+05:30", 330 }, { "-04:00", -240 },
                  { "+09:00", 540 }, { "-07:00", -420 } }
local MESSAGES = { "connection reset by peer", "disk full", "timeout after 30s",
                   "TLS handshake failed" }

-- ISO-8601 with an offset, within the past day. With a placeholder, its microseconds are that text
-- (three characters), for the batch script to fill in per request.
function recent_timestamp(now, micros)
  local t = now - math.random(60, 86399)
  local o = OFFSETS[math.random(#OFFSETS)]
  return os.date("!%Y-%m-%dT%H:%M:%S", t + o[2] * 60) .. string.format(".%03d", math.random(0, 999))
    .. (micros or "") .. o[1]
end

function uuid4()
  return string.format("%04x%04x-%04x-4%03x-%04x-%04x%04x%04x",
    math.random(0, 0xffff), math.random(0, 0xffff), math.random(0, 0xffff),
    math.random(0, 0xfff), 0x8000 + math.random(0, 0x3fff),
    math.random(0, 0xffff), math.random(0, 0xffff), math.random(0, 0xffff))
end

-- One event: 80% success, 10% partial, 10% failed. With speed, internet_speed is that text (the
-- single phase's --single-refused sends -1, which validation refuses).
function event_json(device_id, with_id, now, micros, speed)
  local r = math.random(100)
  local files, errors
  if r <= 10 then
    files, errors = 0, math.random(1, 20)
  elseif r <= 20 then
    files, errors = math.random(1, 100), math.random(1, 10)
  else
    files, errors = math.random(1, 300), 0
  end
  local parts = { "{" }
  if with_id then parts[#parts + 1] = '"event_id":"' .. uuid4() .. '",' end
  parts[#parts + 1] = '"device_id":"' .. device_id .. '","timestamp":"' .. recent_timestamp(now, micros)
    .. '","total_files_synced":' .. files .. ',"total_errors":' .. errors
    .. ',"internet_speed":' .. (speed or string.format("%.1f", math.random() * 200))
    .. ',"duration_ms":' .. math.random(500, 60000)
    .. ',"bytes_synced":' .. (files * 40000 + math.random(0, 39999))
    .. ',"app_version":"2.' .. math.random(0, 3) .. '.0"'
  if errors > 0 then
    parts[#parts + 1] = ',"error_message":"' .. MESSAGES[math.random(#MESSAGES)] .. '"'
  end
  parts[#parts + 1] = "}"
  return table.concat(parts)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d duration_us=%d bytes=%d err_connect=%d err_read=%d err_write=%d"
      .. " err_status=%d err_timeout=%d p50_us=%d p90_us=%d p99_us=%d p999_us=%d max_us=%d mean_us=%.0f\n",
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status,
    e.timeout, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9), latency.max, latency.mean))
end
