#include "image_gateway/replicas/shared_rate_limit.hpp"

#include <chrono>
#include <cmath>

#include "image_gateway/replicas/gcra.hpp"

namespace image_gateway::replicas {

namespace {

// KEYS[1]: the app's TAT (µs on Redis's clock). ARGV: interval µs, capacity µs.
// Mirrors gcra_take(). A value that is not a number, of another type, or further in the future
// than a full bucket allows (junk, or a clock that went back) counts as a full bucket and is
// overwritten.
const redis::script gcra_script(R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local capacity = tonumber(ARGV[2])
local tat = 0
local kind = redis.call('TYPE', KEYS[1]).ok
if kind == 'string' then
  tat = tonumber(redis.call('GET', KEYS[1])) or 0
elseif kind ~= 'none' then
  redis.call('DEL', KEYS[1])
end
if tat > now + capacity then tat = 0 end
if tat < now then tat = now end
local new_tat = tat + interval
local allowed = 0
local stored = tat
if new_tat - now <= capacity then
  allowed = 1
  stored = new_tat
  redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX',
             math.floor((new_tat - now) / 1000) + 1000)
end
local remaining = math.floor((capacity - (stored - now)) / interval)
if remaining < 0 then remaining = 0 end
local retry = 0
if allowed == 0 then retry = new_tat - capacity - now end
return {allowed, remaining, stored - now, retry}
)lua");

long long ceil_seconds(std::int64_t us) {
  return static_cast<long long>((us + 999'999) / 1'000'000);
}

rate_limiter::decision to_decision(bool allowed, std::int64_t remaining, std::int64_t reset_us,
                                   std::int64_t retry_us, double rate) {
  rate_limiter::decision d;
  d.allowed = allowed;
  d.limit = rate;
  d.remaining = remaining;
  d.reset_s = ceil_seconds(reset_us);
  d.retry_after_s = allowed ? 0 : std::max(1LL, ceil_seconds(retry_us));
  return d;
}

}  // namespace

shared_rate_limit::shared_rate_limit(redis::client& redis, key_layout keys, int expected_replicas)
    : redis_(redis), keys_(std::move(keys)), expected_replicas_(std::max(1, expected_replicas)) {}

std::optional<rate_limiter::decision> shared_rate_limit::from_reply(const redis::reply& r,
                                                                    double rate_per_s) {
  if (r.kind != redis::reply::type::array || r.elements.size() != 4) return std::nullopt;
  for (const redis::reply& e : r.elements) {
    if (e.kind != redis::reply::type::integer || e.integer < 0) return std::nullopt;
  }
  const auto allowed = r.elements[0].integer;
  if (allowed != 0 && allowed != 1) return std::nullopt;
  return to_decision(allowed == 1, r.elements[1].integer, r.elements[2].integer,
                     r.elements[3].integer, rate_per_s);
}

rate_limiter::decision shared_rate_limit::take_local(std::string_view app_key, double rate_per_s) {
  const gcra_params params = gcra_for_rate(rate_per_s / expected_replicas_);
  const std::int64_t now = std::chrono::duration_cast<std::chrono::microseconds>(
                               std::chrono::steady_clock::now().time_since_epoch())
                               .count();
  std::lock_guard lock(mutex_);
  std::int64_t& tat = local_tat_us_[std::string(app_key)];
  const gcra_outcome o = gcra_take(tat, now, params);
  tat = o.tat_us;
  return to_decision(o.allowed, o.remaining, o.reset_us, o.retry_after_us, rate_per_s);
}

boost::asio::awaitable<rate_limiter::decision> shared_rate_limit::take(std::string app_key,
                                                                       double rate_per_s) {
  using std::chrono::duration_cast;
  using std::chrono::microseconds;
  const auto started = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(mutex_);
    const auto found = refused_.find(app_key);
    if (found != refused_.end()) {
      if (started < found->second.until) {
        co_return to_decision(
            false, 0, duration_cast<microseconds>(found->second.full - started).count(),
            duration_cast<microseconds>(found->second.until - started).count(), rate_per_s);
      }
      refused_.erase(found);
    }
  }
  const gcra_params params = gcra_for_rate(rate_per_s);
  // (Named vectors: GCC 12 miscompiles braced lists inside a co_await expression.)
  std::vector<std::string> keys{keys_.rate(app_key)};
  std::vector<std::string> args{std::to_string(params.interval_us),
                                std::to_string(params.capacity_us)};
  auto answer = co_await redis_.run(gcra_script, std::move(keys), std::move(args), "rate_limit");
  if (answer) {
    if (auto decided = from_reply(*answer, rate_per_s)) {
      if (!decided->allowed) {
        const std::int64_t retry_us = answer->elements[3].integer;
        const std::int64_t reset_us = answer->elements[2].integer;
        std::lock_guard lock(mutex_);
        refused_[app_key] =
            refusal{started + microseconds(retry_us), started + microseconds(reset_us)};
      }
      co_return *decided;
    }
    redis_.reject("rate_limit");
  }
  co_return take_local(app_key, rate_per_s);
}

}  // namespace image_gateway::replicas
