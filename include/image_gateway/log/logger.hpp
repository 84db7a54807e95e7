#pragma once

#include <atomic>
#include <cstdio>
#include <mutex>
#include <nlohmann/json_fwd.hpp>
#include <string_view>

#include "image_gateway/config/config.hpp"

namespace image_gateway {

// One JSON object per line, written and flushed one at a time. Callers pass only values that
// are safe to log: never a secret, an Authorization header or a token.
class logger {
 public:
  explicit logger(log_level level = log_level::info, std::FILE* out = stdout);

  bool enabled(log_level level) const { return level >= level_.load(std::memory_order_relaxed); }
  void set_level(log_level level) { level_.store(level, std::memory_order_relaxed); }

  // Adds "time" and "level" and "msg" to `fields` (an object) and writes the line.
  void write(log_level level, std::string_view message, const nlohmann::json& fields);
  void write(log_level level, std::string_view message);

 private:
  std::atomic<log_level> level_;  // atomic: set_level may race with writers
  std::FILE* out_;
  std::mutex mutex_;
};

std::string_view to_string(log_level level);

}  // namespace image_gateway
