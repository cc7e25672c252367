-- Shared by the benchmarks' generated wrk scripts (appended to them): counts the answers by
-- status over all threads and prints them with the duration and latency percentiles as
-- `name value` lines that the run scripts read.
local threads = {}
setup = function(thread) table.insert(threads, thread) end
local user_init = init
init = function(args) ok = 0; busy = 0; other = 0; if user_init then user_init(args) end end
response = function(status, headers, body)
  if status >= 200 and status < 300 then ok = ok + 1 elseif status == 503 then busy = busy + 1 else other = other + 1 end
end
done = function(summary, latency, requests)
  local o, b, x = 0, 0, 0
  for _, thread in ipairs(threads) do o = o + thread:get("ok"); b = b + thread:get("busy"); x = x + thread:get("other") end
  io.write(string.format("status_ok %d\nstatus_503 %d\nstatus_other %d\n", o, b, x))
  io.write(string.format("duration_s %.3f\n", summary.duration / 1e6))
  io.write(string.format("latency_p50_ms %.2f\nlatency_p99_ms %.2f\n", latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
