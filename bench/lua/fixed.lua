-- The URL given to wrk, unchanged; only the summary line is added.
wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN")
dofile(os.getenv("BENCH_LUA") .. "/common.lua")
