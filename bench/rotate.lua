-- wrk script: rotate through prepared requests read from a file (one per line:
-- METHOD \t PATH \t header:value\31header:value \t BODY), each thread starting at a
-- different offset, and print a one-line JSON summary for bench.run.
-- With a second argument "once", thread t sends requests t+1, t+1+T, t+1+2T, ... (T
-- threads), so no request is sent twice until the pool is used up (bench.run checks it).
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
  if args[2] == "once" then
    stride = tonumber(args[3])
    idx = tid + 1 - stride
  else
    stride = 1
    idx = (tid * 7919) % #requests_list
  end
end

function request()
  idx = idx + stride
  if idx > #requests_list then idx = (idx - 1) % #requests_list + 1 end
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
