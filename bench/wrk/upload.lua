-- hit, miss-*, and the load of `health`: the real request, both images, right credentials.
-- Environment: BENCH_ORIGIN (http://host:port of the image origin), BENCH_AUTHORIZATION
-- (the whole Authorization header value).
dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "common.lua")

local origin = bench_env("BENCH_ORIGIN")
wrk.method = "POST"
wrk.path = "/v4/image/oppo"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = bench_env("BENCH_AUTHORIZATION")
wrk.body = string.format('{"big_picture_url":"%s/images/big.png","small_picture_url":"%s/images/small.png"}',
                         origin, origin)
