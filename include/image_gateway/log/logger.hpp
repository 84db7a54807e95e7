#pragma once

#include <nlohmann/json_fwd.hpp>
#include <cstdio>
#include <mutex>
#include <string_view>

#include "image_gateway/config/config.hpp"

namespace image_gateway {

// One JSON object per line, written and flushed one at a time. Callers pass only values that
// are safe to log: never a secret, an Authorization header or a token.
class logger {
 public:
  explicit logger(log_level level = log_level::info, std::FILE* out = stdout);

  bool enabled(log_level level) const { return level >= level_; }
  void set_level(log_level level) { level_ = level; }

  // Adds "time" and "level" and "msg" to `fields` (an object) and writes the line.
  void write(log_level level, std::string_view message, const nlohmann::json& fields);
  void write(log_level level, std::string_view message);

 private:
  log_level level_;
  std::FILE* out_;
  std::mutex mutex_;
};

std::string_view to_string(log_level level);

}  // namespace image_gateway
