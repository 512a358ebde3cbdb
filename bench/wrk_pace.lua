-- wrk script for bench/http_load.py: each connection waits WRK_DELAY_MS between requests,
-- so 32 connections send about 32 * 1000 / (delay + latency) requests a second.
local pause = tonumber(os.getenv("WRK_DELAY_MS") or "0")

function delay()
  return pause
end
