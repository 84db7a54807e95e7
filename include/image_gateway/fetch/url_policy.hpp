#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace image_gateway {

inline constexpr std::size_t max_url_length = 2048;

struct url_parts {
  std::string scheme;      // lower-case "http" or "https"
  std::string host;        // lower-case; IPv6 without brackets; IPv4 in dotted decimal
  std::uint16_t port;      // explicit or the scheme's default
  std::string normalised;  // the URL to fetch: as libcurl normalised it, without the fragment
};

// The URL is parsed once, by libcurl's URL API (http_client/url_parser.hpp), the parser the fetch
// itself uses; the policy below judges the parts curl found, so what it accepts is exactly what
// curl connects to (scheme, host, port). `normalised` is what the fetch must be handed.
//
// Why a caller's URL must not be fetched, or nullopt when it may be (the address actually
// connected to is still checked at connect time, against the configured allow list, so literal
// addresses such as 127.0.0.1, or legacy spellings such as 2130706433 that curl reads as
// 127.0.0.1, are NOT refused here). Checked in this order, with these reasons:
//   "URL is 2100 bytes, the limit is 2048"
//   "URL has no scheme, only http and https are allowed"
//   "scheme 'ftp' is not allowed, only http and https"
//   "URL is malformed: <what>"      bytes: whitespace, control, non-ASCII, backslash; then
//                                   anything but exactly "//" after the scheme; then what curl
//                                   cannot parse (empty host, bad port, bad IPv6, bad host name)
//   "URL carries user credentials"  any user name or password, even empty ("http://@host/")
//   "URL is malformed: <what>"      on curl's parts: IPv6 zone id, any '%' in the host (a
//                                   percent-encoded name or address of any kind, which curl
//                                   would decode), port 0, a character or an empty label in a
//                                   host name
//   "host 'localhost' is not allowed"   (also *.localhost, any case, with a trailing dot)
std::optional<std::string> url_refusal(std::string_view url);

// Why a redirect from the URL `from` (one this policy accepted, or a hop it accepted) to a
// Location header's value `location` (as sent, without surrounding blanks) must not be
// followed, or nullopt when it may be. The target must pass url_refusal like a caller's URL:
// an absolute one as written, a scheme-relative one ("//host/...") with `from`'s scheme, and
// a relative one ("/path", "?query") once resolved against `from` as curl resolves it.
std::optional<std::string> redirect_refusal(std::string_view from, std::string_view location);

// The parts of a URL url_refusal accepts; nullopt for every URL it refuses except for its host
// name ("localhost" parses, and is refused there).
std::optional<url_parts> parse_url(std::string_view url);

// Both at once: `parts` when the URL may be fetched, else `refusal`.
struct url_check {
  std::optional<url_parts> parts;
  std::optional<std::string> refusal;
};
url_check check_url(std::string_view url);

}  // namespace image_gateway
