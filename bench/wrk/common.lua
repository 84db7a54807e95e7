-- Shared by the scenario scripts: counts answers by HTTP status and prints one machine-readable
-- summary for bench/report.py (lines starting with "BENCH"), after wrk's own report.
-- Scenario scripts load it with dofile(); the request itself comes from the scenario script.

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  statuses = {}
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local counts = {}
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("statuses") or {}) do
      counts[status] = (counts[status] or 0) + n
    end
  end
  local e = summary.errors
  io.write(string.format(
    "BENCH requests=%d duration_us=%d bytes=%d connect_errors=%d read_errors=%d " ..
    "write_errors=%d timeouts=%d p50_us=%d p90_us=%d p99_us=%d p999_us=%d max_us=%d mean_us=%.1f\n",
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9), latency.max, latency.mean))
  for status, n in pairs(counts) do
    io.write(string.format("BENCH_STATUS %d %d\n", status, n))
  end
end

-- The scenario scripts read their parameters from the environment (bench/run.sh sets them).
function bench_env(name)
  local value = os.getenv(name)
  if value == nil or value == "" then
    error("wrk script: environment variable " .. name .. " is not set")
  end
  return value
end
