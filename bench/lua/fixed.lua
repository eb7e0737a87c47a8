-- The URL given to wrk, unchanged; only the summary line is added.
dofile(os.getenv("BENCH_LUA") .. "/common.lua")
