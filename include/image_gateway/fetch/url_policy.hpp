#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace image_gateway {

inline constexpr std::size_t max_url_length = 2048;

struct url_parts {
  std::string scheme;  // lower-case "http" or "https"
  std::string host;    // lower-case; IPv6 without brackets
  std::uint16_t port;  // explicit or the scheme's default
};

// Parses an absolute http(s) URL for the checks that can be made before any connection.
// Returns nullopt for anything that is not a plain http(s)://host[:port][/path][?query].
std::optional<url_parts> parse_url(std::string_view url);

// Why a caller's URL must not be fetched, or nullopt when it may be (the address actually
// connected to is still checked at connect time). Reasons read like "scheme 'ftp' is not
// allowed, only http and https", "URL is 2100 bytes, the limit is 2048", "URL carries user
// credentials", "host 'localhost' is not allowed".
std::optional<std::string> url_refusal(std::string_view url);

}  // namespace image_gateway
