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

// Appends to a std::string, for the static pieces (append_string) that share the escaping.
struct string_output {
  std::string& out;
  void put(char c) { out.push_back(c); }
  void put(const char* text, std::size_t length) { out.append(text, length); }
};

template <class Output>
void put_escape(Output& out, unsigned char c) {
  switch (c) {
    case '"':
      out.put("\\\"", 2);
      return;
    case '\\':
      out.put("\\\\", 2);
      return;
    case '\b':
      out.put("\\b", 2);
      return;
    case '\f':
      out.put("\\f", 2);
      return;
    case '\n':
      out.put("\\n", 2);
      return;
    case '\r':
      out.put("\\r", 2);
      return;
    case '\t':
      out.put("\\t", 2);
      return;
    default: {
      static constexpr char hex[] = "0123456789abcdef";
      const char text[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 0x0f]};
      out.put(text, sizeof text);
    }
  }
}

// A JSON string with its quotes: runs of plain bytes are copied at once.
template <class Output>
void put_string(Output& out, std::string_view text) {
  out.put('"');
  std::size_t i = json_plain_end(text, 0);
  out.put(text.data(), i);
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      put_escape(out, c);
      ++i;
    } else if (const std::size_t length = utf8_sequence(text, i); length > 0) {
      out.put(text.data() + i, length);
      i += length;
    } else {
      out.put(replacement.data(), replacement.size());
      ++i;
    }
    const std::size_t run = json_plain_end(text, i);
    out.put(text.data() + i, run - i);
    i = run;
  }
  out.put('"');
}

template <class Integer>
void put_integer(json_writer& out, Integer value) {
  char text[24];
  const auto [end, ec] = std::to_chars(text, text + sizeof text, value);
  out.put(text, static_cast<std::size_t>(end - text));
}

// Shortest round-trip form, like nlohmann; a whole number keeps ".0" to stay a float.
template <class Output>
void put_number(Output& out, double value) {
  if (!std::isfinite(value)) {
    out.put("null", 4);
    return;
  }
  char text[32];
  const auto [end, ec] = std::to_chars(text, text + sizeof text, value);
  const std::string_view written(text, static_cast<std::size_t>(end - text));
  out.put(written.data(), written.size());
  if (written.find_first_of(".eE") == std::string_view::npos) out.put(".0", 2);
}

}  // namespace

void json_writer::put_long(const char* text, std::size_t length) {
  if (length > sizeof stage_ - staged_) {
    flush();
    if (length > sizeof stage_) {
      out_.append(text, length);
      return;
    }
  }
  std::memcpy(stage_ + staged_, text, length);
  staged_ += length;
}

void json_writer::append_string(std::string& out, std::string_view text) {
  string_output output{out};
  put_string(output, text);
}

void json_writer::append_number(std::string& out, double value) {
  string_output output{out};
  put_number(output, value);
}

void json_writer::key(json_key name) {
  if (!first_) put(',');
  first_ = false;
  if (name.literal()) {  // every key the code writes itself: copied, not scanned
    put('"');
    put(name.name().data(), name.name().size());
    put("\":", 2);
    return;
  }
  put_string(*this, name.name());
  put(':');
}

void json_writer::member(json_key name, std::string_view value) {
  key(name);
  put_string(*this, value);
}

void json_writer::member(json_key name, std::int64_t value) {
  key(name);
  put_integer(*this, value);
}

void json_writer::member(json_key name, std::uint64_t value) {
  key(name);
  put_integer(*this, value);
}

void json_writer::member(json_key name, double value) {
  key(name);
  put_number(*this, value);
}

void json_writer::member_decimal(json_key name, std::int64_t value, int decimals) {
  key(name);
  std::uint64_t magnitude =
      value < 0 ? 0 - static_cast<std::uint64_t>(value) : static_cast<std::uint64_t>(value);
  if (value < 0) put('-');
  std::uint64_t scale = 1;
  for (int i = 0; i < decimals; ++i) scale *= 10;
  put_integer(*this, magnitude / scale);
  std::uint64_t fraction = magnitude % scale;
  if (decimals <= 0) return;
  put('.');
  if (fraction == 0) {
    put('0');
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
  put(fraction_text, static_cast<std::size_t>(digits));
}

void json_writer::member(json_key name, bool value) {
  key(name);
  if (value) {
    put("true", 4);
  } else {
    put("false", 5);
  }
}

void json_writer::string(std::string_view text) { put_string(*this, text); }

void json_writer::member_raw(json_key name, std::string_view json_text) {
  key(name);
  put(json_text.data(), json_text.size());
}

}  // namespace image_gateway
