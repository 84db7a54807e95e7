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
// Returns nullopt for anything that is not a plain http(s)://host[:port][/path][?query]: every
// URL url_refusal refuses except for its host name ("localhost" parses, and is refused there).
// Refused as odd: any '@' or "%40" in the authority, backslashes, whitespace, control or
// non-ASCII bytes anywhere, percent-encoding or other punctuation in a host name, an empty
// label, an empty, non-numeric, 0 or > 65535 port, a bracketed host that is not an IPv6 address
// (zone ids included).
std::optional<url_parts> parse_url(std::string_view url);

// Why a caller's URL must not be fetched, or nullopt when it may be (the address actually
// connected to is still checked at connect time, against the configured allow list, so literal
// addresses such as 127.0.0.1 are NOT refused here). Checked in this order, with these reasons:
//   "URL is 2100 bytes, the limit is 2048"
//   "URL has no scheme, only http and https are allowed"
//   "scheme 'ftp' is not allowed, only http and https"
//   "URL carries user credentials"
//   "URL is malformed: <what>"      e.g. "URL is malformed: it contains whitespace"
//   "host 'localhost' is not allowed"   (also *.localhost, any case, with a trailing dot)
std::optional<std::string> url_refusal(std::string_view url);

}  // namespace image_gateway
