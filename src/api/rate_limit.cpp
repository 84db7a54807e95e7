#include "image_gateway/api/rate_limit.hpp"

#include <algorithm>
#include <cmath>

namespace image_gateway {

rate_limiter::decision rate_limiter::take(std::string_view app_key, double rate_per_s,
                                          clock::time_point now) {
  const double capacity = std::max(1.0, rate_per_s);
  std::lock_guard lock(mutex_);
  auto [it, fresh] = buckets_.try_emplace(std::string(app_key));
  bucket& b = it->second;
  if (fresh) {
    b.tokens = capacity;
  } else {
    const double elapsed = std::chrono::duration<double>(now - b.updated).count();
    b.tokens = std::min(capacity, b.tokens + std::max(0.0, elapsed) * rate_per_s);
  }
  b.updated = now;

  decision d;
  d.limit = rate_per_s;
  d.allowed = b.tokens >= 1.0;
  if (d.allowed) b.tokens -= 1.0;
  d.remaining = static_cast<long long>(std::floor(b.tokens));
  d.reset_s = static_cast<long long>(std::ceil((capacity - b.tokens) / rate_per_s));
  d.retry_after_s =
      d.allowed ? 0
                : std::max(1LL, static_cast<long long>(std::ceil((1.0 - b.tokens) / rate_per_s)));
  return d;
}

}  // namespace image_gateway
