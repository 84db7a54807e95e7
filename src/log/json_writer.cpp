#include "image_gateway/log/json_writer.hpp"

#include <charconv>
#include <cmath>
#include <cstring>

#include "image_gateway/util/byte_scan.hpp"

namespace image_gateway {
namespace {

constexpr std::string_view replacement = "\xEF\xBF\xBD";  // U+FFFD

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

// Appends `before`, `text`, `after` with one append: most of a log line is short pieces, and
// each append or push_back is a call and a capacity check. (`before` and `after` are short.)
void append_framed(std::string& out, std::string_view before, std::string_view text,
                   std::string_view after) {
  char joined[160];
  if (text.size() > sizeof joined - 8) {
    out.append(before).append(text).append(after);
    return;
  }
  char* p = joined;
  for (const std::string_view piece : {before, text, after}) {
    std::memcpy(p, piece.data(), piece.size());
    p += piece.size();
  }
  out.append(joined, static_cast<std::size_t>(p - joined));
}

}  // namespace

void json_writer::append_string(std::string& out, std::string_view text) {
  std::size_t i = json_plain_end(text, 0);
  if (i == text.size()) {  // a request path, an id, a key: all plain, one copy
    append_framed(out, "\"", text, "\"");
    return;
  }
  out.push_back('"');
  out.append(text.data(), i);
  while (i < text.size()) {
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
    // Runs of plain bytes are copied at once.
    const std::size_t run = json_plain_end(text, i);
    out.append(text.data() + i, run - i);
    i = run;
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

void json_writer::key(json_key name) {
  const bool comma = !first_;
  first_ = false;
  if (name.literal()) {  // every key the code writes itself
    append_framed(out_, comma ? ",\"" : "\"", name.name(), "\":");
    return;
  }
  if (comma) out_.push_back(',');
  append_string(out_, name.name());
  out_.push_back(':');
}

void json_writer::member(json_key name, std::string_view value) {
  key(name);
  append_string(out_, value);
}

void json_writer::member(json_key name, std::int64_t value) {
  key(name);
  char text[24];
  const auto [end, ec] = std::to_chars(text, text + sizeof text, value);
  out_.append(text, end);
}

void json_writer::member(json_key name, std::uint64_t value) {
  key(name);
  char text[24];
  const auto [end, ec] = std::to_chars(text, text + sizeof text, value);
  out_.append(text, end);
}

void json_writer::member(json_key name, double value) {
  key(name);
  append_number(out_, value);
}

void json_writer::member_decimal(json_key name, std::int64_t value, int decimals) {
  key(name);
  std::uint64_t magnitude =
      value < 0 ? 0 - static_cast<std::uint64_t>(value) : static_cast<std::uint64_t>(value);
  if (value < 0) out_.push_back('-');
  std::uint64_t scale = 1;
  for (int i = 0; i < decimals; ++i) scale *= 10;
  char text[24];
  auto [end, ec] = std::to_chars(text, text + sizeof text, magnitude / scale);
  out_.append(text, end);
  std::uint64_t fraction = magnitude % scale;
  if (decimals <= 0) return;
  out_.push_back('.');
  if (fraction == 0) {
    out_.push_back('0');
    return;
  }
  // The fraction's digits with its leading zeros, then without the trailing ones.
  int digits = decimals;
  while (fraction % 10 == 0) {
    fraction /= 10;
    --digits;
  }
  char fraction_text[12];
  for (int i = digits - 1; i >= 0; --i) {
    fraction_text[i] = static_cast<char>('0' + fraction % 10);
    fraction /= 10;
  }
  out_.append(fraction_text, static_cast<std::size_t>(digits));
}

void json_writer::member(json_key name, bool value) {
  key(name);
  out_ += value ? "true" : "false";
}

void json_writer::member_raw(json_key name, std::string_view json_text) {
  key(name);
  out_ += json_text;
}

}  // namespace image_gateway
