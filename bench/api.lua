-- wrk script of bench/api.py: GET the paths of a file with a bearer token, stop after a count.
--
--   wrk -t T -c C -s bench/api.lua URL -- <token> <paths file> <requests per thread> <T>
--
-- Thread k starts at its own offset in the paths and walks them in order, so the threads
-- together ask for (nearly) every path once. A thread that has its answers stops and says
-- "WRK_THREAD_DONE" on stderr: wrk's main thread sleeps the whole --duration, so bench/api.py
-- interrupts it (SIGINT) once every thread is done. done() prints "WRK_JSON {...}".

local threads = {}

function setup(thread)
   thread:set("offset", #threads)
   table.insert(threads, thread)
end

function init(args)
   local token, file = args[1], args[2]
   limit = tonumber(args[3])
   paths = {}
   for line in io.lines(file) do
      paths[#paths + 1] = line
   end
   wrk.headers["Authorization"] = "Bearer " .. token
   position = math.floor(offset * #paths / tonumber(args[4]))
   answered = 0
   failed = 0
   first_failure = ""
end

function request()
   position = position % #paths + 1
   return wrk.format("GET", paths[position])
end

function response(status, headers, body)
   answered = answered + 1
   if status ~= 200 then
      failed = failed + 1
      if first_failure == "" then
         first_failure = status .. " " .. string.sub(body, 1, 200)
      end
   end
   if answered == limit then
      io.stderr:write("WRK_THREAD_DONE\n")
      io.stderr:flush()
      wrk.thread:stop()
   end
end

function done(summary, latency, requests)
   local failures, first = 0, ""
   for _, thread in ipairs(threads) do
      failures = failures + thread:get("failed")
      if first == "" then
         first = thread:get("first_failure")
      end
   end
   io.write(string.format(
      'WRK_JSON {"requests": %d, "duration_us": %d, "failed": %d, "socket_errors": %d, ' ..
      '"p50_us": %d, "p99_us": %d, "max_us": %d, "first_failure": "%s"}\n',
      summary.requests, summary.duration, failures,
      summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
      latency:percentile(50), latency:percentile(99), latency.max, first:gsub('[%c"\\]', ' ')))
end
