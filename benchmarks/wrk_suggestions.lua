-- wrk script: GET /v1/accounts/{id}/suggestions?k=3 for random accounts with a bearer token.
--
--   SYMBIOSE_WRK_TOKEN=<token> SYMBIOSE_WRK_ACCOUNTS=<file, one account id per line> \
--     wrk -t 2 -c 64 -d 20s -s benchmarks/wrk_suggestions.lua http://127.0.0.1:8000
--
-- Ends by printing one JSON line (prefix "RESULT ") with requests, errors, seconds and latency
-- percentiles in milliseconds, which benchmarks/serving_load.py reads.

local ids = {}
local token = os.getenv("SYMBIOSE_WRK_TOKEN") or ""
local k = os.getenv("SYMBIOSE_WRK_K") or "3"

local function load_ids()
  local path = os.getenv("SYMBIOSE_WRK_ACCOUNTS")
  if path == nil then
    error("SYMBIOSE_WRK_ACCOUNTS: expected a file with one account id per line")
  end
  for line in io.lines(path) do
    if line ~= "" then
      ids[#ids + 1] = line
    end
  end
  if #ids == 0 then
    error("SYMBIOSE_WRK_ACCOUNTS " .. path .. ": no account ids in it")
  end
end

local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("thread_number", threads)
end

function init(args)
  load_ids()
  math.randomseed(os.time() * 100 + (thread_number or 0))
end

function request()
  local id = ids[math.random(#ids)]
  return wrk.format("GET", "/v1/accounts/" .. id .. "/suggestions?k=" .. k,
                    {["Authorization"] = "Bearer " .. token})
end

function done(summary, latency, requests)
  local errors = summary.errors
  local failed = errors.connect + errors.read + errors.write + errors.timeout + errors.status
  io.write(string.format(
    'RESULT {"requests": %d, "errors": %d, "seconds": %.3f, "p50_ms": %.3f, "p95_ms": %.3f, ' ..
    '"p99_ms": %.3f, "max_ms": %.3f, "mean_ms": %.3f}\n',
    summary.requests, failed, summary.duration / 1e6, latency:percentile(50) / 1e3,
    latency:percentile(95) / 1e3, latency:percentile(99) / 1e3, latency.max / 1e3, latency.mean / 1e3))
end
