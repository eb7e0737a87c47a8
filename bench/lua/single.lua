-- POST /api/v1/sync-events: one event per request from the registered devices, each
-- sending its own key (BENCH_KEYS: "device_id key" lines), a share BENCH_EVENT_ID_RATIO of events
-- carrying a client event_id (idempotency key).
dofile(os.getenv("BENCH_LUA") .. "/common.lua")

local id_ratio = tonumber(os.getenv("BENCH_EVENT_ID_RATIO") or "0.5")
-- BENCH_REFUSED=1: every event has internet_speed -1, so validation refuses it (400, nothing stored)
local speed = os.getenv("BENCH_REFUSED") == "1" and "-1" or nil
local ids, keys = {}, {}

wrk.method = "POST"
wrk.path = "/api/v1/sync-events"
wrk.headers["Content-Type"] = "application/json"

function init(args)
  seed()
  for line in io.lines(os.getenv("BENCH_KEYS")) do
    local id, key = line:match("^(%S+) (%S+)$")
    ids[#ids + 1] = id
    keys[#keys + 1] = "Bearer " .. key
  end
end

function request()
  local i = math.random(#ids)
  wrk.headers["Authorization"] = keys[i]
  return wrk.format(nil, nil, nil, event_json(ids[i], math.random() < id_ratio, os.time(), nil, speed))
end
