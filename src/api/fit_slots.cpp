#include "image_gateway/api/fit_slots.hpp"

#include <algorithm>
#include <utility>

namespace image_gateway {

std::size_t fit_share_per_app(const fit_limits& limits) {
  if (limits.max_inflight_per_app > 0) return limits.max_inflight_per_app;
  return std::max<std::size_t>(1, limits.max_inflight / 2);
}

fit_slots::fit_slots(std::size_t total, std::size_t per_app)
    : total_(std::max<std::size_t>(1, total)),
      per_app_(std::clamp<std::size_t>(per_app, 1, std::max<std::size_t>(1, total))) {}

fit_slots::place::place(fit_slots& owner, std::string app) : owner_(&owner), app_(std::move(app)) {}

fit_slots::place::place(place&& other) noexcept
    : owner_(std::exchange(other.owner_, nullptr)), app_(std::move(other.app_)) {}

fit_slots::place::~place() {
  if (owner_ != nullptr) owner_->release(app_);
}

fit_slots::admission fit_slots::take(const std::string& app) {
  std::lock_guard lock(mutex_);
  if (in_use_ >= total_) return {std::nullopt, full::all};
  std::size_t& held = by_app_[app];
  if (held >= per_app_) return {std::nullopt, full::app};
  ++held;
  ++in_use_;
  return {place(*this, app), full::all};
}

void fit_slots::release(const std::string& app) {
  std::lock_guard lock(mutex_);
  --in_use_;
  const auto found = by_app_.find(app);
  if (found != by_app_.end() && --found->second == 0) by_app_.erase(found);
}

std::size_t fit_slots::in_use() const {
  std::lock_guard lock(mutex_);
  return in_use_;
}

std::size_t fit_slots::in_use_by(const std::string& app) const {
  std::lock_guard lock(mutex_);
  const auto found = by_app_.find(app);
  return found == by_app_.end() ? 0 : found->second;
}

}  // namespace image_gateway
