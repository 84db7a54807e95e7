#pragma once
// GCRA (generic cell rate algorithm), the arithmetic of the shared rate limit. The same
// arithmetic runs in Lua on Redis (shared_rate_limit.cpp) on Redis's clock, and here for the
// local fallback bucket. Pure; times are microseconds.
//
// A bucket of `burst` requests refilled at `rate` per second is one number, the theoretical
// arrival time (TAT): the moment the bucket would be full again. A request is allowed when,
// with it, the bucket holds no more than `burst` requests' worth: new_tat - now <= burst * T,
// where T = 1/rate is the emission interval.
#include <cstdint>

namespace image_gateway::replicas {

struct gcra_params {
  std::int64_t interval_us;  // T: 1e6 / rate
  std::int64_t capacity_us;  // burst * T
};

// rate > 0 requests per second; burst = max(1, rate) (docs/operations.md#rate-limits).
gcra_params gcra_for_rate(double rate_per_s);

struct gcra_outcome {
  bool allowed = false;
  std::int64_t tat_us = 0;          // the TAT to store (unchanged when refused)
  std::int64_t remaining = 0;       // whole requests that would still be allowed now
  std::int64_t reset_us = 0;        // until the bucket is full again
  std::int64_t retry_after_us = 0;  // when refused: until one request fits
};

// `tat_us` is the stored TAT, 0 (or anything in the past) for a full bucket.
gcra_outcome gcra_take(std::int64_t tat_us, std::int64_t now_us, const gcra_params& params);

}  // namespace image_gateway::replicas
