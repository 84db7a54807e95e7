#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace image_gateway {

// What libcurl's URL parser made of a URL: the parts curl itself connects to when handed
// `normalised`. The one URL parser of the gateway (the fetch uses the same libcurl).
struct curl_url_parts {
  std::string scheme;         // lower-case, as curl reports it
  std::string host;           // as curl reports it: IPv6 in brackets, IPv4 in dotted decimal,
                              // percent-encoding decoded, case kept
  std::string zone_id;        // IPv6 zone id ("eth0"), empty when none
  std::uint16_t port = 0;     // explicit (0 when "0" was written) or the scheme's default
  bool has_userinfo = false;  // a user name, a password or login options, even empty ones
  std::string normalised;     // the URL as curl re-serialises it, without its fragment
};

// Why curl refused to parse a URL.
enum class curl_url_error {
  no_scheme,           // nothing curl takes for a scheme
  unsupported_scheme,  // a scheme this libcurl does not speak
  bad_slashes,         // not 1 to 3 slashes after the scheme
  no_host,             // an empty host
  bad_port,            // not a decimal number 0-65535
  bad_ipv6,            // a bracketed host that is not an IPv6 address
  bad_host,            // a host name with characters curl refuses
  malformed,           // anything else (curl's words in `message`)
};

struct curl_url_result {
  std::optional<curl_url_parts> parts;  // set when curl parsed the URL
  curl_url_error error = curl_url_error::malformed;
  std::string message;  // curl's own description of the error
};

// Parses an absolute URL with curl_url() and the flags a fetch's CURLOPT_URL uses, except that no
// scheme is guessed and only schemes this libcurl supports are accepted (no
// CURLU_NON_SUPPORT_SCHEME). A URL with a NUL byte is malformed. Thread-safe.
curl_url_result parse_url_with_curl(std::string_view url);

// A URL reference (a redirect's Location: absolute, "//host/...", "/path", "?query", ...)
// resolved against the absolute URL `base` as curl resolves it when it follows a redirect;
// nullopt when curl cannot (a NUL byte, a base or result it does not parse).
std::optional<std::string> resolve_with_curl(std::string_view base, std::string_view reference);

}  // namespace image_gateway
