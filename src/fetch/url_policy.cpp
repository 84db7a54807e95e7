#include "image_gateway/fetch/url_policy.hpp"

#include "image_gateway/fetch/address_policy.hpp"

namespace image_gateway {

namespace {

// Why a URL failed, in the order url_refusal reports them.
enum class failure { none, too_long, no_scheme, scheme, credentials, malformed };

struct analysis {
  failure why = failure::none;
  std::string what;  // the scheme for failure::scheme, the problem for failure::malformed
  url_parts parts{};
};

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = lower(c);
  return out;
}

bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

bool contains_ci(std::string_view haystack, std::string_view needle) {
  return lower(haystack).find(needle) != std::string::npos;
}

analysis fail(failure why, std::string what = {}) {
  analysis result;
  result.why = why;
  result.what = std::move(what);
  return result;
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

std::optional<std::uint16_t> parse_port(std::string_view text, std::string& what) {
  if (text.empty()) {
    what = "the port is empty";
    return std::nullopt;
  }
  for (char c : text) {
    if (!is_digit(c)) {
      what = "the port is not a number";
      return std::nullopt;
    }
  }
  unsigned long value = 0;
  for (char c : text) {
    value = value * 10 + static_cast<unsigned long>(c - '0');
    if (value > 65535) break;
  }
  if (value == 0 || value > 65535) {
    what = "port " + std::string(text.substr(0, 8)) + " is outside 1-65535";
    return std::nullopt;
  }
  return static_cast<std::uint16_t>(value);
}

// A registered name: letters, digits, '-', '_' and dots between non-empty labels, one trailing
// dot allowed. No percent-encoding: resolvers and curl would decode it differently.
std::optional<std::string> host_name_problem(std::string_view host) {
  if (host.empty()) return "the host is empty";
  if (host.size() > 254) return "the host name is longer than 253 characters";
  for (char c : host) {
    if (c == '%') return "the host contains percent-encoding";
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

analysis analyse(std::string_view url) {
  if (url.size() > max_url_length) return fail(failure::too_long);

  // RFC 3986 scheme: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) ":"
  std::size_t colon = url.find(':');
  if (colon == std::string_view::npos || colon == 0 || !is_alpha(url[0])) {
    return fail(failure::no_scheme);
  }
  for (char c : url.substr(0, colon)) {
    if (!(is_alpha(c) || is_digit(c) || c == '+' || c == '-' || c == '.')) {
      return fail(failure::no_scheme);
    }
  }
  std::string scheme = lower(url.substr(0, colon));
  if (scheme != "http" && scheme != "https") {
    if (scheme.size() > 32) scheme = scheme.substr(0, 32) + "...";
    return fail(failure::scheme, scheme);
  }

  std::string_view rest = url.substr(colon + 1);
  if (rest.substr(0, 2) != "//") return fail(failure::malformed, "'//' must follow the scheme");
  rest.remove_prefix(2);
  std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));

  // Any '@' in the authority is userinfo to someone; an encoded one is an attempt at it.
  if (authority.find('@') != std::string_view::npos || contains_ci(authority, "%40")) {
    return fail(failure::credentials);
  }
  if (auto problem = odd_byte(url)) return fail(failure::malformed, *problem);

  analysis result;
  result.parts.scheme = scheme;
  std::string_view host;
  std::optional<std::string_view> port_text;
  if (!authority.empty() && authority.front() == '[') {
    std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return fail(failure::malformed, "'[' is never closed");
    host = authority.substr(1, close - 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return fail(failure::malformed, "text follows the IPv6 address");
      port_text = after.substr(1);
    }
    if (host.find('%') != std::string_view::npos) {
      return fail(failure::malformed, "IPv6 zone ids are not allowed");
    }
    auto address = ip_address::parse(host);
    if (!address || !address->is_v6) {
      return fail(failure::malformed, "the bracketed host is not an IPv6 address");
    }
  } else {
    std::size_t port_colon = authority.find(':');
    host = authority.substr(0, port_colon);
    if (port_colon != std::string_view::npos) port_text = authority.substr(port_colon + 1);
    if (auto problem = host_name_problem(host)) return fail(failure::malformed, *problem);
  }
  result.parts.host = lower(host);

  if (port_text) {
    std::string what;
    auto port = parse_port(*port_text, what);
    if (!port) return fail(failure::malformed, what);
    result.parts.port = *port;
  } else {
    result.parts.port = scheme == "https" ? 443 : 80;
  }
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

}  // namespace

std::optional<url_parts> parse_url(std::string_view url) {
  analysis result = analyse(url);
  if (result.why != failure::none) return std::nullopt;
  return std::move(result.parts);
}

std::optional<std::string> url_refusal(std::string_view url) {
  analysis result = analyse(url);
  switch (result.why) {
    case failure::too_long:
      return "URL is " + std::to_string(url.size()) + " bytes, the limit is " +
             std::to_string(max_url_length);
    case failure::no_scheme:
      return std::string("URL has no scheme, only http and https are allowed");
    case failure::scheme:
      return "scheme '" + result.what + "' is not allowed, only http and https";
    case failure::credentials:
      return std::string("URL carries user credentials");
    case failure::malformed:
      return "URL is malformed: " + result.what;
    case failure::none:
      break;
  }
  // Literal addresses are judged at connect time against the configured allow list; names that
  // always mean this machine are refused here.
  if (is_localhost(result.parts.host)) {
    return "host '" + result.parts.host + "' is not allowed";
  }
  return std::nullopt;
}

}  // namespace image_gateway
