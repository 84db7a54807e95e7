#include "image_gateway/replicas/gcra.hpp"

#include <algorithm>
#include <cmath>

namespace image_gateway::replicas {

gcra_params gcra_for_rate(double rate_per_s) {
  const double interval = 1e6 / rate_per_s;
  const double burst = std::max(1.0, rate_per_s);
  return gcra_params{std::max<std::int64_t>(1, std::llround(interval)),
                     std::max<std::int64_t>(1, std::llround(interval * burst))};
}

gcra_outcome gcra_take(std::int64_t tat_us, std::int64_t now_us, const gcra_params& p) {
  const std::int64_t tat = std::max(tat_us, now_us);
  const std::int64_t new_tat = tat + p.interval_us;
  gcra_outcome out;
  out.allowed = new_tat - now_us <= p.capacity_us;
  out.tat_us = out.allowed ? new_tat : tat;
  const std::int64_t room = p.capacity_us - (out.tat_us - now_us);
  out.remaining = std::max<std::int64_t>(0, room / p.interval_us);
  out.reset_us = out.tat_us - now_us;
  out.retry_after_us = out.allowed ? 0 : new_tat - p.capacity_us - now_us;
  return out;
}

}  // namespace image_gateway::replicas
