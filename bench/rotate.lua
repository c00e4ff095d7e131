-- wrk script: rotate through prepared requests read from a file (one per line:
-- METHOD \t PATH \t header:value\31header:value \t BODY), each thread starting at a
-- different offset, and print a one-line JSON summary for bench.run.
local threads = {}
local counter = 0

function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

local requests_list = {}

function init(args)
  local tid = tonumber(wrk.thread:get("tid")) or 0
  local f = assert(io.open(args[1], "r"))
  for line in f:lines() do
    local method, path, headers, body = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$")
    local h = {}
    for pair in string.gmatch(headers, "[^\31]+") do
      local k, v = pair:match("^([^:]+):(.*)$")
      if k then h[k] = v end
    end
    if body == "" then body = nil end
    table.insert(requests_list, wrk.format(method, path, h, body))
  end
  f:close()
  idx = (tid * 7919) % #requests_list
end

function request()
  idx = idx % #requests_list + 1
  return requests_list[idx]
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCHJSON {"requests":%d,"duration_us":%d,"connect":%d,"read":%d,"write":%d,' ..
    '"status":%d,"timeout":%d,"p50_us":%d,"p99_us":%d}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
