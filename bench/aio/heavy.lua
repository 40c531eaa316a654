-- wrk script of bench/aio/run.sh: the "heavy" clients. Each request asks for the
-- next large file in turn (/large-000, /large-001, ... then round again), so that
-- no file is asked for twice before all have been: with the files dropped from the
-- page cache before the run, every file is read cold until the run has pulled the
-- whole data set once (run.sh reports how many passes it made). Run with one wrk
-- thread (-t1): the counter is per thread.
--
--   wrk -t1 -c8 -d10s --timeout 120s -s heavy.lua http://127.0.0.1:PORT -- FILES
--
-- Its last line is `heavy_requests=.. heavy_bytes=.. heavy_us=.. heavy_errors=..
-- heavy_non2xx=..` (done below).

local files = 1
local next_file = 0

function init(args)
    files = tonumber(args[1]) or 1
end

function request()
    local path = string.format("/large-%03d", next_file)
    next_file = (next_file + 1) % files
    return wrk.format("GET", path)
end

-- One line of key=value for run.sh: exact byte and request counts (wrk's own
-- summary rounds them), the run's length, and its errors.
function done(summary, latency, requests)
    local e = summary.errors
    io.write(string.format("heavy_requests=%d heavy_bytes=%d heavy_us=%d heavy_errors=%d "
        .. "heavy_non2xx=%d\n", summary.requests, summary.bytes, summary.duration,
        e.connect + e.read + e.write + e.timeout, e.status))
end
