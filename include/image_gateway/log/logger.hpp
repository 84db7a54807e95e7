#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>

#include "image_gateway/config/config.hpp"
#include "image_gateway/log/json_writer.hpp"
#include "image_gateway/log/log_sink.hpp"

namespace image_gateway {

// One JSON object per line: {"time":…,"level":…,"msg":…, fields…}. Lines are formatted on the
// caller's thread into a reused per-thread buffer and handed to a log_sink, whose one thread
// writes them (see log_sink: bounded, never blocks the caller, drops and counts when the output
// stalls). Callers pass only values that are safe to log: never a secret, an Authorization
// header or a token.
class logger {
 public:
  explicit logger(log_level level = log_level::info, std::FILE* out = stdout,
                  log_sink_options options = {});

  bool enabled(log_level level) const { return level >= level_.load(std::memory_order_relaxed); }
  void set_level(log_level level) { level_.store(level, std::memory_order_relaxed); }

  // Rare lines (start, stop, warnings): `fields` (an object) after "time", "level" and "msg";
  // written at once rather than at the next flush interval.
  void write(log_level level, std::string_view message, const nlohmann::json& fields);
  void write(log_level level, std::string_view message);

  // Per-request lines, without building a JSON tree: `fill(json_writer&)` adds the members.
  template <class Fill>
  void write_fields(log_level level, std::string_view message, Fill&& fill) {
    if (!enabled(level)) return;
    std::string& line = line_buffer();
    {
      json_writer writer(line);
      begin_line(writer, level, message);
      fill(writer);
    }  // the writer's last pieces are in the line
    end_line(line, false);
  }

  // Waits (bounded) until everything logged so far is written; false on time-out.
  bool flush(std::chrono::milliseconds limit = std::chrono::seconds(10)) {
    return sink_->flush(limit);
  }
  // Writes what is left and ends the writer (before a clean exit); false when the output did
  // not take it within `limit`.
  bool stop(std::chrono::milliseconds limit) { return sink_->stop(limit); }
  // Lines lost: dropped while the output stalled, or lost to a failed write.
  std::uint64_t dropped() const { return sink_->dropped(); }

 private:
  // The calling thread's line buffer, emptied.
  static std::string& line_buffer();
  // {"time":…,"level":…,"msg":… into the writer, which goes on with the fields.
  static void begin_line(json_writer& line, log_level level, std::string_view message);
  void end_line(std::string& line, bool urgent);

  std::atomic<log_level> level_;  // atomic: set_level may race with writers
  std::unique_ptr<log_sink> sink_;
};

std::string_view to_string(log_level level);

}  // namespace image_gateway
