#include "image_gateway/log/json_writer.hpp"

#include <charconv>
#include <cmath>

namespace image_gateway {
namespace {

constexpr std::string_view replacement = "\xEF\xBF\xBD";  // U+FFFD

// Bytes that can be copied without a look: printable ASCII other than '"' and '\\'.
constexpr bool plain(unsigned char c) { return c >= 0x20 && c < 0x80 && c != '"' && c != '\\'; }

// The length of the valid UTF-8 sequence starting at text[i] (2..4), or 0 when it is not one:
// no overlong forms, no surrogates, nothing above U+10FFFF (RFC 3629).
std::size_t utf8_sequence(std::string_view text, std::size_t i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[i + k]); };
  const unsigned char lead = byte(0);
  const std::size_t left = text.size() - i;
  const auto continuation = [&](std::size_t k) { return k < left && (byte(k) & 0xC0) == 0x80; };
  if (lead >= 0xC2 && lead <= 0xDF) return continuation(1) ? 2 : 0;
  if (lead >= 0xE0 && lead <= 0xEF) {
    if (!continuation(1) || !continuation(2)) return 0;
    if (lead == 0xE0 && byte(1) < 0xA0) return 0;   // overlong
    if (lead == 0xED && byte(1) >= 0xA0) return 0;  // UTF-16 surrogate
    return 3;
  }
  if (lead >= 0xF0 && lead <= 0xF4) {
    if (!continuation(1) || !continuation(2) || !continuation(3)) return 0;
    if (lead == 0xF0 && byte(1) < 0x90) return 0;   // overlong
    if (lead == 0xF4 && byte(1) >= 0x90) return 0;  // above U+10FFFF
    return 4;
  }
  return 0;
}

void append_escape(std::string& out, unsigned char c) {
  switch (c) {
    case '"':
      out += "\\\"";
      return;
    case '\\':
      out += "\\\\";
      return;
    case '\b':
      out += "\\b";
      return;
    case '\f':
      out += "\\f";
      return;
    case '\n':
      out += "\\n";
      return;
    case '\r':
      out += "\\r";
      return;
    case '\t':
      out += "\\t";
      return;
    default: {
      static constexpr char hex[] = "0123456789abcdef";
      const char text[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 0x0f]};
      out.append(text, sizeof text);
    }
  }
}

}  // namespace

void json_writer::append_string(std::string& out, std::string_view text) {
  out.push_back('"');
  std::size_t i = 0;
  while (i < text.size()) {
    // Runs of plain bytes are copied at once: a request path or an id is all plain.
    std::size_t run = i;
    while (run < text.size() && plain(static_cast<unsigned char>(text[run]))) ++run;
    if (run > i) {
      out.append(text.data() + i, run - i);
      i = run;
      if (i == text.size()) break;
    }
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      append_escape(out, c);
      ++i;
    } else if (const std::size_t length = utf8_sequence(text, i); length > 0) {
      out.append(text.data() + i, length);
      i += length;
    } else {
      out += replacement;
      ++i;
    }
  }
  out.push_back('"');
}

void json_writer::append_number(std::string& out, double value) {
  if (!std::isfinite(value)) {
    out += "null";
    return;
  }
  char text[32];
  const auto [end, ec] = std::to_chars(text, text + sizeof text, value);
  const std::string_view written(text, static_cast<std::size_t>(end - text));
  out += written;
  // Shortest round-trip form, like nlohmann; a whole number keeps ".0" to stay a float.
  if (written.find_first_of(".eE") == std::string_view::npos) out += ".0";
}

void json_writer::key(std::string_view name) {
  if (!first_) out_.push_back(',');
  first_ = false;
  append_string(out_, name);
  out_.push_back(':');
}

void json_writer::member(std::string_view name, std::string_view value) {
  key(name);
  append_string(out_, value);
}

void json_writer::member(std::string_view name, std::int64_t value) {
  key(name);
  char text[24];
  const auto [end, ec] = std::to_chars(text, text + sizeof text, value);
  out_.append(text, end);
}

void json_writer::member(std::string_view name, std::uint64_t value) {
  key(name);
  char text[24];
  const auto [end, ec] = std::to_chars(text, text + sizeof text, value);
  out_.append(text, end);
}

void json_writer::member(std::string_view name, double value) {
  key(name);
  append_number(out_, value);
}

void json_writer::member(std::string_view name, bool value) {
  key(name);
  out_ += value ? "true" : "false";
}

void json_writer::member_raw(std::string_view name, std::string_view json_text) {
  key(name);
  out_ += json_text;
}

}  // namespace image_gateway
