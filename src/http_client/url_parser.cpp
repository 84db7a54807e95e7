#include "image_gateway/http_client/url_parser.hpp"

#include <curl/curl.h>

#include <charconv>
#include <memory>

namespace image_gateway {

namespace {

struct url_handle_deleter {
  void operator()(CURLU* handle) const { curl_url_cleanup(handle); }
};
using url_handle = std::unique_ptr<CURLU, url_handle_deleter>;

// One part of a parsed URL; nullopt when curl has none (CURLUE_NO_USER, ...).
std::optional<std::string> get_part(CURLU* handle, CURLUPart part, unsigned int flags = 0) {
  char* text = nullptr;
  if (curl_url_get(handle, part, &text, flags) != CURLUE_OK || text == nullptr) {
    return std::nullopt;
  }
  std::string value(text);
  curl_free(text);
  return value;
}

curl_url_error error_of(CURLUcode code) {
  switch (code) {
    case CURLUE_BAD_SCHEME:
      return curl_url_error::no_scheme;
    case CURLUE_UNSUPPORTED_SCHEME:
      return curl_url_error::unsupported_scheme;
    case CURLUE_BAD_SLASHES:
      return curl_url_error::bad_slashes;
    case CURLUE_NO_HOST:
      return curl_url_error::no_host;
    case CURLUE_BAD_PORT_NUMBER:
      return curl_url_error::bad_port;
    case CURLUE_BAD_IPV6:
      return curl_url_error::bad_ipv6;
    case CURLUE_BAD_HOSTNAME:
      return curl_url_error::bad_host;
    default:
      return curl_url_error::malformed;
  }
}

curl_url_result failure(curl_url_error error, std::string message) {
  curl_url_result result;
  result.error = error;
  result.message = std::move(message);
  return result;
}

}  // namespace

curl_url_result parse_url_with_curl(std::string_view url) {
  // curl reads a C string: a NUL byte would silently cut the URL short.
  if (url.find('\0') != std::string_view::npos) {
    return failure(curl_url_error::malformed, "the URL contains a NUL byte");
  }
  url_handle handle(curl_url());
  if (!handle) return failure(curl_url_error::malformed, "out of memory");
  const std::string text(url);
  // CURLOPT_URL parses with CURLU_GUESS_SCHEME | CURLU_NON_SUPPORT_SCHEME; callers' URLs must
  // name their scheme, and one this libcurl cannot speak is refused here.
  if (const CURLUcode code = curl_url_set(handle.get(), CURLUPART_URL, text.c_str(), 0);
      code != CURLUE_OK) {
    return failure(error_of(code), curl_url_strerror(code));
  }

  curl_url_parts parts;
  parts.scheme = get_part(handle.get(), CURLUPART_SCHEME).value_or("");
  parts.host = get_part(handle.get(), CURLUPART_HOST).value_or("");
  parts.zone_id = get_part(handle.get(), CURLUPART_ZONEID).value_or("");
  const std::string port = get_part(handle.get(), CURLUPART_PORT, CURLU_DEFAULT_PORT).value_or("");
  unsigned int port_value = 0;  // stays 0 for a scheme without a default port (file:)
  if (!port.empty()) {
    const auto [end, error] = std::from_chars(port.data(), port.data() + port.size(), port_value);
    if (error != std::errc{} || end != port.data() + port.size() || port_value > 65535) {
      return failure(curl_url_error::bad_port, "curl reported port '" + port + "'");
    }
  }
  parts.port = static_cast<std::uint16_t>(port_value);
  parts.has_userinfo = get_part(handle.get(), CURLUPART_USER).has_value() ||
                       get_part(handle.get(), CURLUPART_PASSWORD).has_value() ||
                       get_part(handle.get(), CURLUPART_OPTIONS).has_value();
  // The fragment is never sent; the fetch gets the URL without it.
  curl_url_set(handle.get(), CURLUPART_FRAGMENT, nullptr, 0);
  parts.normalised = get_part(handle.get(), CURLUPART_URL).value_or("");

  curl_url_result result;
  result.parts = std::move(parts);
  return result;
}

std::optional<std::string> resolve_with_curl(std::string_view base, std::string_view reference) {
  if (base.find('\0') != std::string_view::npos || reference.find('\0') != std::string_view::npos) {
    return std::nullopt;
  }
  url_handle handle(curl_url());
  if (!handle) return std::nullopt;
  const std::string base_text(base);
  const std::string reference_text(reference);
  // The flags curl's own redirect following hands curl_url_set for a Location.
  if (curl_url_set(handle.get(), CURLUPART_URL, base_text.c_str(), 0) != CURLUE_OK ||
      curl_url_set(handle.get(), CURLUPART_URL, reference_text.c_str(),
                   CURLU_URLENCODE | CURLU_ALLOW_SPACE) != CURLUE_OK) {
    return std::nullopt;
  }
  return get_part(handle.get(), CURLUPART_URL);
}

}  // namespace image_gateway
