-- wrk script for scripts/container-test.sh: POSTs one image request (body in IGW_BODY, Basic
-- credentials base64 in IGW_AUTH) per call and counts the answers that are not a 200 carrying
-- both ids (code 51 is also HTTP 200, so the status alone proves nothing).
wrk.method = "POST"
wrk.body = os.getenv("IGW_BODY")
wrk.headers["Authorization"] = "Basic " .. os.getenv("IGW_AUTH")

bad = 0
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function response(status, headers, body)
  if status ~= 200 or not body:find('"big_picture_id"', 1, true)
     or not body:find('"small_picture_id"', 1, true) then
    bad = bad + 1
  end
end

function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do
    total = total + thread:get("bad")
  end
  io.write(string.format("bad answers: %d\n", total))
end
