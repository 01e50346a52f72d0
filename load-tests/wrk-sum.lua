-- POST /sum under wrk (make bench's HTTP load; proof/src/load-generators.ts runs it). A thread holds
-- many connections, each with one request in flight (no pipelining). Every answer carries its a and b,
-- so it is checked against a + b whichever connection it came on, and summed. At the deadline a thread
-- stops only once no sum is in flight: every committed sum is counted, and the running total can be
-- checked exactly. wrk's own -d is a backstop (see load-generators.ts).
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

-- Per thread: args[1] is the deadline, in seconds since the epoch; args[2] the thread's connections.
function init(args)
  deadline = tonumber(args[1])
  connections = tonumber(args[2])
  math.randomseed(now() * 1e6)
  acked, wrong, sum, last = 0, 0, 0, 0
  failures = {}
  -- Set at the thread's first answer after the deadline; then the sums still in flight on its other
  -- connections are awaited, and no new one is sent.
  draining = false
  awaited = 0
end

-- An unfinished request (no blank line after its headers): the server waits for the rest and never
-- answers, so a connection that sends it after the deadline stays quiet, and commits nothing.
local quiet = "GET /healthz HTTP/1.1\r\nHost: wrk-sum\r\n"

-- Small operands keep every a + b exact in a Lua number.
function request()
  if draining then return quiet end
  local a, b = math.random(-1000000, 1000000), math.random(-1000000, 1000000)
  return wrk.format("POST", "/sum", { ["Content-Type"] = "application/json" }, '{"a":' .. a .. ',"b":' .. b .. "}")
end

local function stop()
  io.write("wrk-thread-stopped\n")
  io.flush()
  wrk.thread:stop()
end

function response(status, headers, body)
  last = now()
  if status == 200 then
    local result = tonumber(string.match(body, '"result":(%-?%d+)'))
    local a = tonumber(string.match(body, '"a":(%-?%d+)'))
    local b = tonumber(string.match(body, '"b":(%-?%d+)'))
    acked = acked + 1
    sum = sum + (result or 0)
    if result == nil or a == nil or b == nil or result ~= a + b then wrong = wrong + 1 end
  else
    local reason = "HTTP " .. status .. " " .. (string.match(body, '"code":"([A-Z_]+)"') or "")
    failures[reason] = (failures[reason] or 0) + 1
  end
  if draining then
    awaited = awaited - 1
    if awaited == 0 then stop() end
  elseif last >= deadline then
    -- This connection has nothing in flight now; each of the others has one sum.
    draining = true
    awaited = connections - 1
    if awaited == 0 then stop() end
  end
end

-- One line for load-generators.ts: the threads' counts together, the sums still awaited on threads
-- that never stopped (lost with their connection, they may have been committed), and wrk's latency
-- histogram (microseconds).
function done(summary, latency, requests)
  local total = { acked = 0, wrong = 0, sum = 0, last = 0, unanswered = 0, failures = {} }
  for _, thread in ipairs(threads) do
    total.acked = total.acked + thread:get("acked")
    total.wrong = total.wrong + thread:get("wrong")
    total.sum = total.sum + thread:get("sum")
    total.last = math.max(total.last, thread:get("last"))
    if thread:get("draining") then
      total.unanswered = total.unanswered + thread:get("awaited")
    else
      total.unanswered = total.unanswered + thread:get("connections")
    end
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
    'wrk-result {"acked":%d,"wrong":%d,"sum":"%.0f","last":%.6f,"unanswered":%d,"failures":{%s},' ..
      '"socketErrors":%d,"p50":%.3f,"p99":%.3f,"p999":%.3f}\n',
    total.acked, total.wrong, total.sum, total.last, total.unanswered, table.concat(failures, ","),
    errors.connect + errors.read + errors.write + errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency:percentile(99.9) / 1000
  ))
end
