-- POST /sum under wrk (make bench's HTTP load; proof/src/wrk.ts runs it). Each thread has one
-- connection, so its answers come in the order of its requests, each checked against a + b. A thread
-- stops at the deadline only after an answer, never with a request in flight: every committed sum is
-- counted, and the running total can be checked exactly. wrk's own -d is a backstop (see wrk.ts).
local ffi = require("ffi")
ffi.cdef([[
  typedef struct { long tv_sec; long tv_usec; } bench_timeval;
  int gettimeofday(bench_timeval *tv, void *tz);
]])
local clock = ffi.new("bench_timeval")
local function now()
  ffi.C.gettimeofday(clock, nil)
  return tonumber(clock.tv_sec) + tonumber(clock.tv_usec) / 1e6
end

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

-- Per thread: args[1] is the deadline, in seconds since the epoch.
function init(args)
  deadline = tonumber(args[1])
  math.randomseed(now() * 1e6)
  acked, wrong, sum, last = 0, 0, 0, 0
  failures = {}
  expected = nil
end

-- Small operands keep every a + b exact in a Lua number.
function request()
  local a, b = math.random(-1000000, 1000000), math.random(-1000000, 1000000)
  expected = a + b
  return wrk.format("POST", "/sum", { ["Content-Type"] = "application/json" }, '{"a":' .. a .. ',"b":' .. b .. "}")
end

function response(status, headers, body)
  last = now()
  if status == 200 then
    local result = tonumber(string.match(body, '"result":"?(%-?%d+)'))
    acked = acked + 1
    sum = sum + (result or 0)
    if result ~= expected then wrong = wrong + 1 end
  else
    local reason = "HTTP " .. status .. " " .. (string.match(body, '"code":"([A-Z_]+)"') or "")
    failures[reason] = (failures[reason] or 0) + 1
  end
  if last >= deadline then
    io.write("wrk-thread-stopped\n")
    io.flush()
    wrk.thread:stop()
  end
end

-- One line for wrk.ts: the threads' counts together, and wrk's latency histogram (microseconds). No
-- count of requests sent: wrk calls request() once more than it sends, to check the script.
function done(summary, latency, requests)
  local total = { acked = 0, wrong = 0, sum = 0, last = 0, failures = {} }
  for _, thread in ipairs(threads) do
    total.acked = total.acked + thread:get("acked")
    total.wrong = total.wrong + thread:get("wrong")
    total.sum = total.sum + thread:get("sum")
    total.last = math.max(total.last, thread:get("last"))
    for reason, count in pairs(thread:get("failures")) do
      total.failures[reason] = (total.failures[reason] or 0) + count
    end
  end
  local failures = {}
  for reason, count in pairs(total.failures) do
    table.insert(failures, string.format('"%s":%d', reason, count))
  end
  local errors = summary.errors
  io.write(string.format(
    'wrk-result {"acked":%d,"wrong":%d,"sum":"%.0f","last":%.6f,"failures":{%s},' ..
      '"socketErrors":%d,"p50":%.3f,"p99":%.3f,"p999":%.3f}\n',
    total.acked, total.wrong, total.sum, total.last, table.concat(failures, ","),
    errors.connect + errors.read + errors.write + errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency:percentile(99.9) / 1000
  ))
end
