-- One benchmark workload for wrk: `wrk -s workload.lua URL -- SPEC_FILE`.
--
-- The spec file (written by bench/harness/common.py) has one item a line:
--   method GET | header Name: value | body {...} | path /request/path (one or many)
-- Each request goes to one of the paths, picked at random. Responses outside 2xx are
-- counted per thread and summed in done(), which prints one line:
--   BENCH_JSON {"requests":..., "non2xx":..., "p50_us":..., ...}

local threads = {}

function setup(thread)
   table.insert(threads, thread)
   thread:set("thread_id", #threads)
end

local method = "GET"
local headers = {}
local body = nil
local paths = {}
local fixed = nil
non2xx = 0
statuses = {}

function init(args)
   for line in io.lines(args[1]) do
      local key, rest = line:match("^(%a+) (.*)$")
      if key == "method" then
         method = rest
      elseif key == "header" then
         local name, value = rest:match("^([^:]+):%s*(.*)$")
         headers[name] = value
      elseif key == "body" then
         body = rest
      elseif key == "path" then
         paths[#paths + 1] = rest
      end
   end
   math.randomseed(os.time() * 1000 + (thread_id or 0))
   if #paths == 1 then
      fixed = wrk.format(method, paths[1], headers, body)
   end
end

function request()
   if fixed then
      return fixed
   end
   return wrk.format(method, paths[math.random(#paths)], headers, body)
end

function response(status, _headers, _body)
   if status < 200 or status > 299 then
      non2xx = non2xx + 1
      statuses[status] = (statuses[status] or 0) + 1
   end
end

function done(summary, latency, _requests)
   local bad = 0
   local codes = {}
   for _, thread in ipairs(threads) do
      bad = bad + (thread:get("non2xx") or 0)
      for code, count in pairs(thread:get("statuses") or {}) do
         codes[code] = (codes[code] or 0) + count
      end
   end
   local parts = {}
   for code, count in pairs(codes) do
      parts[#parts + 1] = string.format('"%d":%d', code, count)
   end
   local e = summary.errors
   io.write(string.format(
      'BENCH_JSON {"requests":%d,"duration_us":%d,"non2xx":%d,"connect":%d,"read":%d,' ..
      '"write":%d,"timeout":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,' ..
      '"mean_us":%.1f,"statuses":{%s}}\n',
      summary.requests, summary.duration, bad, e.connect, e.read, e.write, e.timeout,
      latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
      latency.mean, table.concat(parts, ",")))
end
