#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace image_gateway {

// A member's name. A string literal in the code is taken as it is (it must be plain ASCII
// without '"' or '\\': no scan, no escaping); any other text is escaped like a value.
class json_key {
 public:
  template <std::size_t N>
  constexpr json_key(const char (&literal)[N])  // NOLINT(google-explicit-constructor)
      : name_(literal, N - 1), literal_(true) {}
  constexpr explicit json_key(std::string_view name) : name_(name), literal_(false) {}

  constexpr std::string_view name() const { return name_; }
  constexpr bool literal() const { return literal_; }

 private:
  std::string_view name_;
  bool literal_;
};

// Appends JSON text to a string the caller owns (and reuses): no tree is built, nothing is
// allocated once the string has grown. Strings are escaped so that any bytes stay on one line
// and parse back: '"', '\\' and control characters are escaped (\n, \t, \u001f, ...), invalid
// UTF-8 becomes U+FFFD, valid UTF-8 is copied as it is (the same output as nlohmann::json's
// dump with error_handler_t::replace).
// The pieces of a member are gathered in a small buffer of the writer's own and reach the
// string a few hundred bytes at a time (a log line is ~40 short pieces, and each string append
// is a call and a capacity check): the string has them after end_object(), flush() or the
// writer's end.
class json_writer {
 public:
  explicit json_writer(std::string& out) : out_(out) {}
  ~json_writer() { flush(); }
  json_writer(const json_writer&) = delete;
  json_writer& operator=(const json_writer&) = delete;

  void begin_object() {
    put('{');
    first_ = true;
  }
  void end_object() {
    put('}');
    flush();
  }
  // Goes on with an object whose '{' and first members are in the string already.
  void continue_object() { first_ = false; }
  // Everything written so far into the string.
  void flush() {
    if (staged_ > 0) out_.append(stage_, staged_);
    staged_ = 0;
  }

  // "key":value members; each adds the comma before it when needed.
  void member(json_key key, std::string_view value);
  void member(json_key key, const char* value) { member(key, std::string_view(value)); }
  void member(json_key key, std::int64_t value);
  void member(json_key key, int value) { member(key, static_cast<std::int64_t>(value)); }
  void member(json_key key, std::uint64_t value);
  void member(json_key key, double value);
  void member(json_key key, bool value);
  // value / 10^decimals as a JSON number, without trailing zeros (12088, 6 -> 0.012088): a
  // duration counted in integer units costs no floating-point formatting. decimals <= 9.
  void member_decimal(json_key key, std::int64_t value, int decimals);
  // A member whose value is JSON text already (e.g. nlohmann's dump of a nested value).
  void member_raw(json_key key, std::string_view json_text);
  // A JSON string value alone (after a key the caller wrote).
  void string(std::string_view text);

  // Pieces, for callers that build something other than a flat object.
  static void append_string(std::string& out, std::string_view text);  // with the quotes
  static void append_number(std::string& out, double value);  // like nlohmann: 1.0, null for NaN

  // The writer as an output of bytes (used by the escaping code it shares with append_string).
  void put(char c) {
    if (staged_ == sizeof stage_) flush();
    stage_[staged_++] = c;
  }
  // Inlined where it is used (the escaping code is a template over its output).
  [[gnu::always_inline]] void put(const char* text, std::size_t length) {
    if (length <= 16 && staged_ + 16 <= sizeof stage_) {
      // Most pieces are short: two fixed-size copies that may overlap, no call.
      if (length >= 8) {
        std::memcpy(stage_ + staged_, text, 8);
        std::memcpy(stage_ + staged_ + length - 8, text + length - 8, 8);
      } else if (length >= 4) {
        std::memcpy(stage_ + staged_, text, 4);
        std::memcpy(stage_ + staged_ + length - 4, text + length - 4, 4);
      } else {
        for (std::size_t i = 0; i < length; ++i) stage_[staged_ + i] = text[i];
      }
      staged_ += length;
      return;
    }
    put_long(text, length);
  }

 private:
  void put_long(const char* text, std::size_t length);
  void key(json_key name);
  std::string& out_;
  bool first_ = true;
  std::size_t staged_ = 0;
  char stage_[512];
};

}  // namespace image_gateway
