-- reject (and nginx-limit, for the same bytes on the wire): the real request with a wrong
-- password, which image-gateway must answer 401 before reading the images.
-- Environment: BENCH_ORIGIN, BENCH_AUTHORIZATION (a wrong secret).
dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "upload.lua")
