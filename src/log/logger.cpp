#include "image_gateway/log/logger.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <ctime>
#include <string>

namespace image_gateway {

namespace {

using json = nlohmann::json;

// Values may carry bytes from hostile input: invalid UTF-8 is replaced, never thrown on.
std::string dump(const json& value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

// UTC, ISO-8601 with milliseconds: 2026-11-29T04:28:05.123Z.
std::string utc_now() {
  const auto now = std::chrono::system_clock::now();
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  const std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char text[64];
  std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms % 1000));
  return text;
}

}  // namespace

std::string_view to_string(log_level level) {
  switch (level) {
    case log_level::debug:
      return "debug";
    case log_level::info:
      return "info";
    case log_level::warn:
      return "warn";
    case log_level::error:
      return "error";
  }
  return "unknown";
}

logger::logger(log_level level, std::FILE* out) : level_(level), out_(out) {}

void logger::write(log_level level, std::string_view message, const json& fields) {
  if (!enabled(level)) return;
  // Built by hand so "time", "level" and "msg" lead the line whatever order `fields` keeps.
  std::string line = "{\"time\":\"" + utc_now() + "\",\"level\":\"" +
                     std::string(to_string(level)) + "\",\"msg\":" + dump(std::string(message));
  if (fields.is_object()) {
    for (const auto& [key, value] : fields.items()) {
      if (key == "time" || key == "level" || key == "msg") continue;  // keep keys unique
      line += ',';
      line += dump(key);
      line += ':';
      line += dump(value);
    }
  } else if (!fields.is_null()) {
    line += ",\"fields\":" + dump(fields);
  }
  line += "}\n";
  const std::lock_guard lock(mutex_);
  std::fwrite(line.data(), 1, line.size(), out_);
  std::fflush(out_);
}

void logger::write(log_level level, std::string_view message) {
  if (!enabled(level)) return;
  write(level, message, json());
}

}  // namespace image_gateway
