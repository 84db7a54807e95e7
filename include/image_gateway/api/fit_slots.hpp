#pragma once
// The places for requests with a fit (images.fit.max_inflight), shared between apps: one app
// holds at most its share of them (images.fit.max_inflight_per_app), so a single caller with
// slow sources cannot keep every other app's fits waiting for 503s.
#include <cstddef>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "image_gateway/image/fit_types.hpp"

namespace image_gateway {

// One app's share of images.fit.max_inflight: max_inflight_per_app when set, else half of the
// places (at least 1).
std::size_t fit_share_per_app(const fit_limits& limits);

class fit_slots {
 public:
  // `total` places, at most `per_app` of them for one app (both at least 1).
  fit_slots(std::size_t total, std::size_t per_app);
  fit_slots(const fit_slots&) = delete;
  fit_slots& operator=(const fit_slots&) = delete;

  // One place, held for as long as this lives (it moves with the request).
  class place {
   public:
    place(place&& other) noexcept;
    place& operator=(place&&) = delete;
    ~place();

   private:
    friend class fit_slots;
    place(fit_slots& owner, std::string app);
    fit_slots* owner_;
    std::string app_;
  };

  enum class full {
    all,  // every place is taken
    app,  // the app holds its share already
  };
  struct admission {
    std::optional<place> held;  // set when a place was taken
    full why = full::all;       // when not
  };
  // A place for `app` when one is free and the app is under its share; every place taken is
  // reported before the app's share.
  admission take(const std::string& app);

  std::size_t total() const { return total_; }
  std::size_t per_app() const { return per_app_; }
  std::size_t in_use() const;
  std::size_t in_use_by(const std::string& app) const;

 private:
  void release(const std::string& app);

  const std::size_t total_;
  const std::size_t per_app_;
  mutable std::mutex mutex_;
  std::size_t in_use_ = 0;
  std::map<std::string, std::size_t> by_app_;  // apps holding at least one place
};

}  // namespace image_gateway
