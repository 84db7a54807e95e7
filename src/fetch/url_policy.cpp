#include "image_gateway/fetch/url_policy.hpp"

#include <array>
#include <functional>

#include "image_gateway/fetch/address_policy.hpp"
#include "image_gateway/http_client/url_parser.hpp"
#include "image_gateway/util/strings.hpp"

#include <algorithm>

namespace image_gateway {

namespace {

// Why a URL failed, in the order url_refusal reports them.
enum class failure { none, too_long, no_scheme, scheme, credentials, malformed };

struct analysis {
  failure why = failure::none;
  std::string what;  // the scheme for failure::scheme, the problem for failure::malformed
  url_parts parts{};
};

bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

analysis fail(failure why, std::string what = {}) {
  analysis result;
  result.why = why;
  result.what = std::move(what);
  return result;
}

// The RFC 3986 scheme the URL starts with (ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) ":"),
// lower-case; nullopt when it has none. Only orders and words the refusal: curl decides what
// the URL is, and must agree (checked below).
std::optional<std::string> written_scheme(std::string_view url) {
  const std::size_t colon = url.find(':');
  if (colon == std::string_view::npos || colon == 0 || !is_alpha(url[0])) return std::nullopt;
  for (char c : url.substr(0, colon)) {
    if (!(is_alpha(c) || is_digit(c) || c == '+' || c == '-' || c == '.')) return std::nullopt;
  }
  return to_lower(url.substr(0, colon));
}

// Bytes curl, browsers and servers disagree about: refused anywhere in the URL.
std::optional<std::string> odd_byte(std::string_view url) {
  for (char c : url) {
    auto byte = static_cast<unsigned char>(c);
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f') {
      return "it contains whitespace";
    }
    if (byte < 0x20 || byte == 0x7f) return "it contains a control character";
    if (byte >= 0x80) return "it contains a non-ASCII byte";
    if (c == '\\') return "it contains a backslash";
  }
  return std::nullopt;
}

std::string curl_error_words(const curl_url_result& parsed) {
  switch (parsed.error) {
    case curl_url_error::no_scheme:
    case curl_url_error::unsupported_scheme:
    case curl_url_error::bad_slashes:
      return "'//' must follow the scheme";
    case curl_url_error::no_host:
      return "the host is empty";
    case curl_url_error::bad_port:
      return "the port is not a number from 1 to 65535";
    case curl_url_error::bad_ipv6:
      return "the bracketed host is not an IPv6 address";
    case curl_url_error::bad_host:
      return "the host is not a valid host name";
    case curl_url_error::malformed:
      break;
  }
  return "curl cannot parse it (" + parsed.message + ")";
}

// A registered name as curl read it: letters, digits, '-', '_' and dots between non-empty
// labels, one trailing dot allowed.
std::optional<std::string> host_name_problem(std::string_view host) {
  if (host.empty()) return "the host is empty";
  if (host.size() > 254) return "the host name is longer than 253 characters";
  for (char c : host) {
    if (!(is_alpha(c) || is_digit(c) || c == '-' || c == '_' || c == '.')) {
      return "the host contains '" + std::string(1, c) + "'";
    }
  }
  std::string_view labels = host;
  if (labels.back() == '.') labels.remove_suffix(1);
  if (labels.empty() || labels.front() == '.' || labels.back() == '.' ||
      labels.find("..") != std::string_view::npos) {
    return "the host has an empty label";
  }
  return std::nullopt;
}

// The authority as written: what follows "scheme://" up to the path, query or fragment. With
// exactly "//" after the scheme and no userinfo (both checked before), it is host[:port].
std::string_view written_authority(std::string_view url, std::string_view scheme) {
  const std::string_view rest = url.substr(std::min(url.size(), scheme.size() + 3));
  return rest.substr(0, rest.find_first_of("/?#"));
}

// The policy on curl's host: the host part of url_parts, or the problem.
std::optional<std::string> judge_host(std::string_view url, const curl_url_parts& parsed,
                                      std::string& host) {
  if (!parsed.zone_id.empty()) return "IPv6 zone ids are not allowed";
  // curl decodes percent-encoding in any host ("127.0.0.%31" is 127.0.0.1, "%2e" a dot):
  // resolvers, proxies and filters in front may not, so a host must be written as it is meant.
  if (written_authority(url, parsed.scheme).find('%') != std::string_view::npos) {
    return "the host contains percent-encoding";
  }
  const std::string_view curl_host = parsed.host;
  if (!curl_host.empty() && curl_host.front() == '[') {
    if (curl_host.back() != ']') return "the bracketed host is not an IPv6 address";
    host = to_lower(curl_host.substr(1, curl_host.size() - 2));
    const auto address = ip_address::parse(host);
    if (!address || !address->is_v6) return "the bracketed host is not an IPv6 address";
    return std::nullopt;
  }
  host = to_lower(curl_host);
  // IPv4 in any spelling curl understands (2130706433, 0x7f.1) comes back dotted: judged at
  // connect time like any literal address.
  if (const auto address = ip_address::parse(host); address && !address->is_v6) {
    return std::nullopt;
  }
  return host_name_problem(host);
}

analysis analyse(std::string_view url) {
  if (url.size() > max_url_length) return fail(failure::too_long);

  const std::optional<std::string> scheme = written_scheme(url);
  if (!scheme) return fail(failure::no_scheme);
  if (*scheme != "http" && *scheme != "https") {
    return fail(failure::scheme, scheme->size() > 32 ? scheme->substr(0, 32) + "..." : *scheme);
  }
  if (auto problem = odd_byte(url)) return fail(failure::malformed, *problem);
  // curl also takes one or three slashes ("http:/host", "http:///host" is host "host"): a URL
  // must say what it means as written.
  const std::string_view rest = url.substr(scheme->size() + 1);
  if (rest.substr(0, 2) != "//") return fail(failure::malformed, "'//' must follow the scheme");
  if (rest.substr(2, 1) == "/") return fail(failure::malformed, "the host is empty");

  const curl_url_result parsed = parse_url_with_curl(url);
  if (!parsed.parts) return fail(failure::malformed, curl_error_words(parsed));
  const curl_url_parts& curl = *parsed.parts;
  if (curl.scheme != *scheme) {
    return fail(failure::malformed, "curl reads the scheme as '" + curl.scheme + "'");
  }
  if (curl.has_userinfo) return fail(failure::credentials);

  analysis result;
  if (auto problem = judge_host(url, curl, result.parts.host)) {
    return fail(failure::malformed, *problem);
  }
  if (curl.port == 0) return fail(failure::malformed, "port 0 is outside 1-65535");
  result.parts.scheme = curl.scheme;
  result.parts.port = curl.port;
  result.parts.normalised = curl.normalised;
  return result;
}

// "localhost" and every name under it resolve to loopback by convention (RFC 6761).
bool is_localhost(std::string_view host) {
  if (!host.empty() && host.back() == '.') host.remove_suffix(1);
  constexpr std::string_view name = "localhost";
  constexpr std::string_view suffix = ".localhost";
  return host == name ||
         (host.size() > suffix.size() && host.substr(host.size() - suffix.size()) == suffix);
}

std::string refusal_words(const analysis& result, std::string_view url) {
  switch (result.why) {
    case failure::too_long:
      return "URL is " + std::to_string(url.size()) + " bytes, the limit is " +
             std::to_string(max_url_length);
    case failure::no_scheme:
      return "URL has no scheme, only http and https are allowed";
    case failure::scheme:
      return "scheme '" + result.what + "' is not allowed, only http and https";
    case failure::credentials:
      return "URL carries user credentials";
    case failure::malformed:
      return "URL is malformed: " + result.what;
    case failure::none:
      break;
  }
  return {};
}

url_check check_url_uncached(std::string_view url) {
  analysis result = analyse(url);
  if (result.why != failure::none) return {std::nullopt, refusal_words(result, url)};
  // Literal addresses are judged at connect time against the configured allow list; names that
  // always mean this machine are refused here.
  if (is_localhost(result.parts.host)) {
    return {std::nullopt, "host '" + result.parts.host + "' is not allowed"};
  }
  return {std::move(result.parts), std::nullopt};
}

}  // namespace

url_check check_url(std::string_view url) {
  // Push backends send the same URLs again and again, and parsing one with libcurl's URL API
  // was a sixth of the CPU of a request answered from the cache (issue 18). The verdict depends
  // on the text alone: each thread remembers the last few, one per slot of a small table.
  constexpr std::size_t slots = 64;
  constexpr std::size_t longest_remembered = 512;  // bounds the table's memory per thread
  struct remembered {
    std::string url;
    url_check verdict;
  };
  if (url.size() > longest_remembered) return check_url_uncached(url);
  thread_local std::array<std::optional<remembered>, slots> recent;
  std::optional<remembered>& slot = recent[std::hash<std::string_view>{}(url) % slots];
  if (slot && slot->url == url) return slot->verdict;
  url_check verdict = check_url_uncached(url);
  slot = remembered{std::string(url), verdict};
  return verdict;
}

std::optional<url_parts> parse_url(std::string_view url) {
  analysis result = analyse(url);
  if (result.why != failure::none) return std::nullopt;
  return std::move(result.parts);
}

std::optional<std::string> url_refusal(std::string_view url) { return check_url(url).refusal; }

std::optional<std::string> redirect_refusal(std::string_view from, std::string_view location) {
  // What names a host is judged as written (its scheme and "//" included): an absolute URL as
  // it is, a scheme-relative one with the scheme of the URL it came from.
  if (written_scheme(location)) return url_refusal(location);
  if (location.starts_with("//")) {
    const std::optional<std::string> scheme = written_scheme(from);
    return url_refusal((scheme ? *scheme + ":" : std::string()) + std::string(location));
  }
  // A path, query or fragment keeps the host already judged; curl resolves it.
  const std::optional<std::string> resolved = resolve_with_curl(from, location);
  if (!resolved) return "URL is malformed: curl cannot resolve it against the URL it came from";
  return url_refusal(*resolved);
}

}  // namespace image_gateway
