#pragma once
// One rate limit per app across replicas (docs/scaling.md#what-is-shared): GCRA in one Lua script
// on Redis's clock. When Redis fails for a request, a local GCRA bucket of rate / expected_replicas
// decides.
//
// A refusal is remembered until its Retry-After ends: GCRA only lets the bucket fill with time
// (other replicas' requests can only make it fuller), so Redis would refuse every request of
// that app until then anyway, and those are answered here without a Redis call. The window is
// counted from before the call was sent, so it never ends later than Redis's own.
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "image_gateway/api/rate_limit.hpp"
#include "image_gateway/redis/client.hpp"
#include "image_gateway/replicas/key_layout.hpp"

namespace image_gateway::replicas {

class shared_rate_limit {
 public:
  shared_rate_limit(redis::client& redis, key_layout keys, int expected_replicas);

  boost::asio::awaitable<rate_limiter::decision> take(std::string app_key, double rate_per_s);
  // The local fallback bucket alone (Redis failed, or no awaiting possible).
  rate_limiter::decision take_local(std::string_view app_key, double rate_per_s);

  // What the script answers, {allowed, remaining, reset_us, retry_after_us}, as a decision;
  // nullopt for anything else (a garbage answer counts as a failed call).
  static std::optional<rate_limiter::decision> from_reply(const redis::reply& r, double rate_per_s);

 private:
  redis::client& redis_;
  key_layout keys_;
  int expected_replicas_;
  std::mutex mutex_;
  std::unordered_map<std::string, std::int64_t> local_tat_us_;
  struct refusal {
    std::chrono::steady_clock::time_point until;  // Retry-After's end
    std::chrono::steady_clock::time_point full;   // the bucket's reset
  };
  std::unordered_map<std::string, refusal> refused_;
};

}  // namespace image_gateway::replicas
