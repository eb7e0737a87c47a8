-- POST /api/v1/sync-events: one event per request, BENCH_DEVICES device ids, a share
-- BENCH_EVENT_ID_RATIO of events carrying a client event_id (idempotency key).
dofile(os.getenv("BENCH_LUA") .. "/common.lua")

local devices = tonumber(os.getenv("BENCH_DEVICES") or "10000")
local id_ratio = tonumber(os.getenv("BENCH_EVENT_ID_RATIO") or "0.5")
local prefix = os.getenv("BENCH_DEVICE_PREFIX") or "bench-s-"

wrk.method = "POST"
wrk.path = "/api/v1/sync-events"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN")

function init(args) seed() end

function request()
  local device = prefix .. string.format("%05d", math.random(0, devices - 1))
  return wrk.format(nil, nil, nil, event_json(device, math.random() < id_ratio, os.time()))
end
