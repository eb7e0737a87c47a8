-- POST /api/v1/sync-events/batch: BENCH_BATCH events per request, from a pool of BENCH_POOL bodies
-- per thread built at start (so the load generator spends its CPU on HTTP, not on JSON). Events
-- carry no event_id, so resending a body stores new events. Each request writes its own three
-- digits into the events' microseconds: resent unchanged, a body's events would repeat (device,
-- time, status) exactly, which real reports do not and which B-tree deduplication packs into a
-- fraction of the index space (a flattering figure). BENCH_BODY_DEVICES: distinct devices
-- per body, drawn from BENCH_DEVICES (1 = one device uploading its offline backlog; 1000 = a
-- gateway relaying events of many devices).
dofile(os.getenv("BENCH_LUA") .. "/common.lua")

local devices = tonumber(os.getenv("BENCH_DEVICES") or "100000")
local batch = tonumber(os.getenv("BENCH_BATCH") or "1000")
local pool_size = tonumber(os.getenv("BENCH_POOL") or "8")
local prefix = os.getenv("BENCH_DEVICE_PREFIX") or "bench-b-"
local body_devices = tonumber(os.getenv("BENCH_BODY_DEVICES") or tostring(batch))

wrk.method = "POST"
wrk.path = "/api/v1/sync-events/batch"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN")

local pool = {}
local next_index = 1

function init(args)
  seed()
  local now = os.time()
  for p = 1, pool_size do
    local events, ids = {}, {}
    for d = 1, body_devices do
      ids[d] = prefix .. string.format("%06d", math.random(0, devices - 1))
    end
    for i = 1, batch do
      events[i] = event_json(ids[(i - 1) % body_devices + 1], false, now, "~~~")
    end
    local r = wrk.format(nil, nil, nil, '{"events":[' .. table.concat(events, ",") .. "]}")
    -- kept in pieces around the placeholders: joined with three digits per request (the same
    -- length every time, so the Content-Length that wrk.format wrote stays right)
    local pieces = {}
    for piece in (r .. "~~~"):gmatch("(.-)~~~") do pieces[#pieces + 1] = piece end
    pool[p] = pieces
  end
end

local sent = 0

function request()
  local pieces = pool[next_index]
  next_index = next_index % pool_size + 1
  sent = sent + 1
  return table.concat(pieces, string.format("%03d", math.floor(sent / pool_size) % 1000))
end
