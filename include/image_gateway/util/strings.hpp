#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace image_gateway {

// ASCII case folding: what HTTP's and URLs' case-insensitive tokens mean (no locale lookup).
constexpr char ascii_lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}
std::string to_lower(std::string_view text);
bool iequals(std::string_view a, std::string_view b);
// Without the spaces and tabs at either end (HTTP's optional whitespace around field values).
std::string_view trim_spaces_and_tabs(std::string_view text);
// Strict RFC 4648 base64 (padding required); nullopt on any other character.
std::optional<std::string> base64_decode(std::string_view text);
std::string base64_encode(std::string_view data);
// A caller's text for an error detail or a log line: printable ASCII only (other bytes become
// '?'), at most `max_bytes` of it, then "..." when it was longer.
std::string printable_excerpt(std::string_view text, std::size_t max_bytes);
// application/x-www-form-urlencoded escaping of one value.
std::string form_url_encode(std::string_view value);
// application/x-www-form-urlencoded decoding of one name or value: "+" is a space, "%XX" the
// byte XX (hex digits of either case); nullopt when a '%' is not followed by two hex digits.
std::optional<std::string> form_url_decode(std::string_view text);
// The value of one hexadecimal digit (either case), or -1.
int hex_value(char c);
// A whole application/x-www-form-urlencoded text (a body, or a query string) as decoded
// name/value pairs in order: pairs split on '&', empty ones skipped, a pair without '=' has an
// empty value; nullopt when any name or value does not decode.
std::optional<std::vector<std::pair<std::string, std::string>>> parse_form_urlencoded(
    std::string_view body);

}  // namespace image_gateway
