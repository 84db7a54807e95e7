#pragma once

#include <chrono>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace image_gateway {

// Per-app token buckets: `rate` requests per second on average, bursts up to max(1, rate).
// Each replica counts on its own. Thread-safe.
class rate_limiter {
 public:
  using clock = std::chrono::steady_clock;

  struct decision {
    bool allowed = true;
    double limit = 0;             // X-Rate-Limit-Limit: the configured requests per second
    long long remaining = 0;      // X-Rate-Limit-Remaining: whole requests left right now
    long long reset_s = 0;        // X-Rate-Limit-Reset: seconds until the bucket is full again
    long long retry_after_s = 0;  // Retry-After when refused: seconds until one request fits
  };

  decision take(std::string_view app_key, double rate_per_s, clock::time_point now);

 private:
  struct bucket {
    double tokens = 0;
    clock::time_point updated;
  };
  std::mutex mutex_;
  std::unordered_map<std::string, bucket> buckets_;
};

}  // namespace image_gateway
