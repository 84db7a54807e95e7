#pragma once
// Series of a metric family bound on first use and then found without a lock: every request
// counts itself, and a mutex around the lookup was a point every I/O thread met per request.
// A slot is written once, under the mutex, and published by storing its key last (release);
// readers load the key (acquire) and then read the series.
#include <array>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>

namespace image_gateway::metrics {

template <typename Series, std::size_t Slots>
class series_table {
 public:
  // The series for `key` (not 0), bound by `bind()` the first time. When every slot is taken,
  // each call binds again (correct, only slower).
  template <typename Bind>
  Series get(std::uint64_t key, Bind&& bind) {
    const std::size_t start = static_cast<std::size_t>((key * 0x9E3779B97F4A7C15ULL) >> 40) % Slots;
    for (std::size_t probe = 0; probe < Slots; ++probe) {
      const slot& s = slots_[(start + probe) % Slots];
      const std::uint64_t found = s.key.load(std::memory_order_acquire);
      if (found == key) return *s.series;
      if (found == 0) break;
    }
    std::lock_guard lock(mutex_);
    for (std::size_t probe = 0; probe < Slots; ++probe) {
      slot& s = slots_[(start + probe) % Slots];
      const std::uint64_t found = s.key.load(std::memory_order_relaxed);
      if (found == key) return *s.series;
      if (found == 0) {
        s.series.emplace(bind());
        s.key.store(key, std::memory_order_release);
        return *s.series;
      }
    }
    return bind();
  }

 private:
  struct slot {
    std::atomic<std::uint64_t> key{0};
    std::optional<Series> series;
  };
  std::array<slot, Slots> slots_;
  std::mutex mutex_;
};

}  // namespace image_gateway::metrics
