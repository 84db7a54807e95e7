#include "image_gateway/log/logger.hpp"

#include <nlohmann/json.hpp>

#include <ctime>
#include <string>

namespace image_gateway {

namespace {

using json = nlohmann::json;

// UTC, ISO-8601 with milliseconds: 2026-11-29T04:28:05.123Z. The part up to the seconds is
// formatted once per second and thread.
void put_utc_now(json_writer& out) {
  thread_local std::int64_t cached_second = -1;
  thread_local char cached[64];  // "2026-11-29T04:28:05." (room for any int)
  const auto now = std::chrono::system_clock::now();
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  const std::int64_t second = ms / 1000;
  if (second != cached_second) {
    const auto seconds = static_cast<std::time_t>(second);
    std::tm tm{};
    gmtime_r(&seconds, &tm);
    std::snprintf(cached, sizeof cached, "%04d-%02d-%02dT%02d:%02d:%02d.", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    cached_second = second;
  }
  out.put(cached, 20);
  const int millis = static_cast<int>(ms % 1000);
  const char tail[4] = {static_cast<char>('0' + millis / 100),
                        static_cast<char>('0' + millis / 10 % 10),
                        static_cast<char>('0' + millis % 10), 'Z'};
  out.put(tail, sizeof tail);
}

std::string dump(const json& value) {
  // Values may carry bytes from hostile input: invalid UTF-8 is replaced, never thrown on.
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
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

logger::logger(log_level level, std::FILE* out, log_sink_options options)
    : level_(level), sink_(std::make_unique<log_sink>(::fileno(out), options)) {
  std::fflush(out);  // anything the FILE buffered goes first; from now on the sink owns the fd
}

std::string& logger::line_buffer() {
  thread_local std::string line;
  line.clear();
  return line;
}

void logger::begin_line(json_writer& line, log_level level, std::string_view message) {
  static constexpr std::string_view time_key = "{\"time\":\"";
  static constexpr std::string_view level_key = "\",\"level\":\"";
  static constexpr std::string_view message_key = "\",\"msg\":";
  line.put(time_key.data(), time_key.size());
  put_utc_now(line);
  line.put(level_key.data(), level_key.size());
  const std::string_view name = to_string(level);
  line.put(name.data(), name.size());
  line.put(message_key.data(), message_key.size());
  line.string(message);
  line.continue_object();
}

void logger::end_line(std::string& line, bool urgent) {
  line += "}\n";
  sink_->submit(line);
  if (urgent) sink_->kick();
  // A line of a hostile size must not pin its memory to this thread for ever.
  if (line.capacity() > 64 * 1024) std::string().swap(line);
}

void logger::write(log_level level, std::string_view message, const json& fields) {
  if (!enabled(level)) return;
  std::string& line = line_buffer();
  json_writer writer(line);
  begin_line(writer, level, message);
  if (fields.is_object()) {
    for (const auto& [key, value] : fields.items()) {
      if (key == "time" || key == "level" || key == "msg") continue;  // keep keys unique
      if (value.is_string()) {
        writer.member(json_key(key), value.get_ref<const std::string&>());
      } else {
        writer.member_raw(json_key(key), dump(value));
      }
    }
  } else if (!fields.is_null()) {
    writer.member_raw("fields", dump(fields));
  }
  writer.flush();
  end_line(line, true);
}

void logger::write(log_level level, std::string_view message) {
  if (!enabled(level)) return;
  std::string& line = line_buffer();
  {
    json_writer writer(line);
    begin_line(writer, level, message);
  }
  end_line(line, true);
}

}  // namespace image_gateway
