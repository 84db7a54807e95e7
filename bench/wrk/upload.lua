-- hit, miss-*, and the load of `health`: the real request, both images, right credentials.
-- Environment: BENCH_ORIGIN (http://host:port of the image origin), BENCH_AUTHORIZATION
-- (the whole Authorization header value), BENCH_IMAGE_DIR (the origin's directory: "images",
-- the default, or "fresh", the same files sent with Cache-Control: max-age=3600).
dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "common.lua")

local origin = bench_env("BENCH_ORIGIN")
wrk.method = "POST"
wrk.path = "/v4/image/oppo"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = bench_env("BENCH_AUTHORIZATION")
local dir = os.getenv("BENCH_IMAGE_DIR") or "images"
wrk.body = string.format('{"big_picture_url":"%s/%s/big.png","small_picture_url":"%s/%s/small.png"}',
                         origin, dir, origin, dir)
