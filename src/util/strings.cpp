#include "image_gateway/util/strings.hpp"

#include <array>

namespace image_gateway {

std::string to_lower(std::string_view text) {
  std::string lower(text);
  for (char& c : lower) c = ascii_lower(c);
  return lower;
}

std::string_view trim_spaces_and_tabs(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  }
  return true;
}

namespace {
constexpr char base64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// Each byte's value as a base64 digit, -1 when it is not one: one look-up per byte.
constexpr std::array<signed char, 256> base64_values = [] {
  std::array<signed char, 256> values{};
  for (auto& value : values) value = -1;
  for (int i = 0; i < 64; ++i) {
    values[static_cast<unsigned char>(base64_alphabet[i])] = static_cast<signed char>(i);
  }
  return values;
}();

int base64_value(char c) { return base64_values[static_cast<unsigned char>(c)]; }
}  // namespace

std::optional<std::string> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  // Sized once and written by index: a credential is decoded on every request.
  std::string out(text.size() / 4 * 3, '\0');
  std::size_t length = 0;
  for (std::size_t i = 0; i < text.size(); i += 4) {
    const bool last = i + 4 == text.size();
    std::array<int, 4> v{};
    int padding = 0;
    for (int j = 0; j < 4; ++j) {
      const char c = text[i + static_cast<std::size_t>(j)];
      if (c == '=' && last && j >= 2) {
        ++padding;
        v[static_cast<std::size_t>(j)] = 0;
        continue;
      }
      if (padding > 0) return std::nullopt;  // data after padding
      v[static_cast<std::size_t>(j)] = base64_value(c);
      if (v[static_cast<std::size_t>(j)] < 0) return std::nullopt;
    }
    const unsigned triple = (static_cast<unsigned>(v[0]) << 18) |
                            (static_cast<unsigned>(v[1]) << 12) |
                            (static_cast<unsigned>(v[2]) << 6) | static_cast<unsigned>(v[3]);
    out[length++] = static_cast<char>((triple >> 16) & 0xff);
    if (padding < 2) out[length++] = static_cast<char>((triple >> 8) & 0xff);
    if (padding < 1) out[length++] = static_cast<char>(triple & 0xff);
  }
  out.resize(length);
  return out;
}

std::string base64_encode(std::string_view data) {
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  for (std::size_t i = 0; i < data.size(); i += 3) {
    unsigned triple = static_cast<unsigned char>(data[i]) << 16;
    if (i + 1 < data.size()) triple |= static_cast<unsigned char>(data[i + 1]) << 8;
    if (i + 2 < data.size()) triple |= static_cast<unsigned char>(data[i + 2]);
    out.push_back(base64_alphabet[(triple >> 18) & 63]);
    out.push_back(base64_alphabet[(triple >> 12) & 63]);
    out.push_back(i + 1 < data.size() ? base64_alphabet[(triple >> 6) & 63] : '=');
    out.push_back(i + 2 < data.size() ? base64_alphabet[triple & 63] : '=');
  }
  return out;
}

std::string printable_excerpt(std::string_view text, std::size_t max_bytes) {
  std::string shown;
  for (const char c : text.substr(0, max_bytes)) shown += (c >= 0x20 && c < 0x7f) ? c : '?';
  if (text.size() > max_bytes) shown += "...";
  return shown;
}

std::string form_url_encode(std::string_view value) {
  static constexpr char hex_digits[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(value.size());
  for (const char c : value) {
    const auto byte = static_cast<unsigned char>(c);
    if (std::isalnum(byte) || c == '-' || c == '_' || c == '.' || c == '*') {
      out.push_back(c);
    } else if (c == ' ') {
      out.push_back('+');
    } else {
      out.push_back('%');
      out.push_back(hex_digits[byte >> 4]);
      out.push_back(hex_digits[byte & 0x0f]);
    }
  }
  return out;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<std::string> form_url_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '+') {
      out.push_back(' ');
    } else if (c == '%') {
      if (i + 2 >= text.size()) return std::nullopt;  // needs two hex digits
      const int high = hex_value(text[i + 1]);
      const int low = hex_value(text[i + 2]);
      if (high < 0 || low < 0) return std::nullopt;
      out.push_back(static_cast<char>(high * 16 + low));
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::optional<std::vector<std::pair<std::string, std::string>>> parse_form_urlencoded(
    std::string_view body) {
  std::vector<std::pair<std::string, std::string>> fields;
  while (!body.empty()) {
    const std::size_t amp = body.find('&');
    const std::string_view pair = body.substr(0, amp);
    body = amp == std::string_view::npos ? std::string_view{} : body.substr(amp + 1);
    if (pair.empty()) continue;  // "a=1&&b=2"
    const std::size_t eq = pair.find('=');
    auto name = form_url_decode(pair.substr(0, eq));
    auto value =
        form_url_decode(eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1));
    if (!name || !value) return std::nullopt;
    fields.emplace_back(std::move(*name), std::move(*value));
  }
  return fields;
}

}  // namespace image_gateway
