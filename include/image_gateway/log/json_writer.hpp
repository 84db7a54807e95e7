#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace image_gateway {

// Appends JSON text to a string the caller owns (and reuses): no tree is built, nothing is
// allocated once the string has grown. Strings are escaped so that any bytes stay on one line
// and parse back: '"', '\\' and control characters are escaped (\n, \t, \u001f, ...), invalid
// UTF-8 becomes U+FFFD, valid UTF-8 is copied as it is (the same output as nlohmann::json's
// dump with error_handler_t::replace).
class json_writer {
 public:
  explicit json_writer(std::string& out) : out_(out) {}

  void begin_object() {
    out_.push_back('{');
    first_ = true;
  }
  void end_object() { out_.push_back('}'); }
  // Goes on with an object whose '{' and first members are in the string already.
  void continue_object() { first_ = false; }

  // "key":value members; each adds the comma before it when needed.
  void member(std::string_view key, std::string_view value);
  void member(std::string_view key, const char* value) { member(key, std::string_view(value)); }
  void member(std::string_view key, std::int64_t value);
  void member(std::string_view key, int value) { member(key, static_cast<std::int64_t>(value)); }
  void member(std::string_view key, std::uint64_t value);
  void member(std::string_view key, double value);
  void member(std::string_view key, bool value);
  // A member whose value is JSON text already (e.g. nlohmann's dump of a nested value).
  void member_raw(std::string_view key, std::string_view json_text);

  // Pieces, for callers that build something other than a flat object.
  static void append_string(std::string& out, std::string_view text);  // with the quotes
  static void append_number(std::string& out, double value);  // like nlohmann: 1.0, null for NaN

 private:
  void key(std::string_view name);
  std::string& out_;
  bool first_ = true;
};

}  // namespace image_gateway
