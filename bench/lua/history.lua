-- GET /api/v1/devices/{id}/sync-events for a random device of the loaded data set.
wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN")
dofile(os.getenv("BENCH_LUA") .. "/common.lua")

local devices = tonumber(os.getenv("BENCH_DEVICES") or "100000")

function init(args) seed() end

function request()
  return wrk.format("GET", string.format("/api/v1/devices/bench-dev-%06d/sync-events",
    math.random(0, devices - 1)))
end
