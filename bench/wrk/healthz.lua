-- The probe of `health`: GET /healthz on one connection, one probe every BENCH_PROBE_INTERVAL_MS
-- (default 10) while the miss load runs beside it. wrk's latency excludes the wait between probes.
dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "common.lua")

local interval = tonumber(os.getenv("BENCH_PROBE_INTERVAL_MS") or "10")
wrk.method = "GET"
wrk.path = "/healthz"

function delay()
  return interval
end
