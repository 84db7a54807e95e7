#include "image_gateway/server/message_framing.hpp"

#include <array>
#include <string_view>

#include "image_gateway/util/strings.hpp"

namespace image_gateway {
namespace {

constexpr std::size_t max_quoted = 40;  // how much of a hostile value the detail repeats

bool is_decimal_number(std::string_view text) {
  if (text.empty() || text.size() > 19) return false;  // beyond 19 digits it overflows 64 bits
  for (const char c : text) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// Printable ASCII only, shortened: the value is the client's and goes into a JSON detail.
std::string quoted(std::string_view value) {
  std::string shown;
  for (const char c : value.substr(0, max_quoted)) {
    shown += (c >= 0x20 && c < 0x7f) ? c : '?';
  }
  if (value.size() > max_quoted) shown += "...";
  return "\"" + shown + "\"";
}

// One transfer coding as sent: its name, and whether parameters followed it (";q=1").
struct transfer_coding {
  std::string_view name;
  bool has_parameters = false;
};

// The transfer codings of every Transfer-Encoding field, in order.
std::vector<transfer_coding> transfer_codings(
    const std::vector<std::pair<std::string, std::string>>& headers) {
  std::vector<transfer_coding> codings;
  for (const auto& [name, value] : headers) {
    if (name != "transfer-encoding") continue;
    std::string_view rest = value;
    for (;;) {
      const std::size_t comma = rest.find(',');
      const std::string_view element = rest.substr(0, comma);
      const std::size_t semicolon = element.find(';');
      // An empty element is kept: it is not "chunked" either.
      codings.push_back({trim_spaces_and_tabs(element.substr(0, semicolon)),
                         semicolon != std::string_view::npos});
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  return codings;
}

// RFC 3986 unreserved and sub-delims, one look-up per byte (every Host value is checked).
constexpr std::array<bool, 256> unreserved_or_sub_delim = [] {
  std::array<bool, 256> table{};
  for (int c = 'a'; c <= 'z'; ++c) table[static_cast<std::size_t>(c)] = true;
  for (int c = 'A'; c <= 'Z'; ++c) table[static_cast<std::size_t>(c)] = true;
  for (int c = '0'; c <= '9'; ++c) table[static_cast<std::size_t>(c)] = true;
  for (const char c : std::string_view("-._~!$&'()*+,;=")) {
    table[static_cast<unsigned char>(c)] = true;
  }
  return table;
}();

bool is_unreserved_or_sub_delim(char c) {
  return unreserved_or_sub_delim[static_cast<unsigned char>(c)];
}

bool is_hex_digit(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// RFC 3986 reg-name: unreserved, sub-delims and %XX; may be empty.
bool is_reg_name(std::string_view name) {
  for (std::size_t i = 0; i < name.size(); ++i) {
    if (name[i] == '%') {
      if (i + 2 >= name.size() || !is_hex_digit(name[i + 1]) || !is_hex_digit(name[i + 2])) {
        return false;
      }
      i += 2;
    } else if (!is_unreserved_or_sub_delim(name[i])) {
      return false;
    }
  }
  return true;
}

// RFC 3986 IP-literal, brackets included: an IPv6 address or IPvFuture ("v1.x"). Checked for
// its characters (hex digits, ':' and '.', or IPvFuture's unreserved and sub-delims), not for
// being an address: the Host value only has to be one the grammar allows.
bool is_ip_literal(std::string_view literal) {
  if (literal.size() < 3 || literal.front() != '[' || literal.back() != ']') return false;
  const std::string_view inside = literal.substr(1, literal.size() - 2);
  const bool future = inside.front() == 'v' || inside.front() == 'V';
  for (const char c : inside) {
    const bool ok = future ? (is_unreserved_or_sub_delim(c) || c == ':')
                           : (is_hex_digit(c) || c == ':' || c == '.');
    if (!ok) return false;
  }
  return true;
}

// RFC 9112 3.2: Host = uri-host [ ":" port ], uri-host from RFC 3986 (IP-literal, IPv4address
// or reg-name; the last covers the second), port = *DIGIT.
bool is_host_value(std::string_view value) {
  std::string_view host = value;
  std::string_view port;
  const std::size_t colon = value.rfind(':');
  if (colon != std::string_view::npos &&
      (value.front() != '[' || value.find(']') < colon)) {  // not a colon inside [v6]
    host = value.substr(0, colon);
    port = value.substr(colon + 1);
  }
  for (const char c : port) {
    if (c < '0' || c > '9') return false;
  }
  if (!host.empty() && host.front() == '[') return is_ip_literal(host);
  return is_reg_name(host);
}

std::optional<std::string> host_problem(unsigned http_version, std::size_t hosts) {
  if (http_version < 11) return std::nullopt;  // HTTP/1.0 predates Host as a requirement
  if (hosts == 0) return "an HTTP/1.1 request must carry a Host header";
  if (hosts > 1)
    return "an HTTP/1.1 request must carry exactly one Host header, not " + std::to_string(hosts);
  return std::nullopt;
}

// Any request's Host value, when it has one: uri-host [":" port].
std::optional<std::string> host_value_problem(
    const std::vector<std::pair<std::string, std::string>>& headers) {
  for (const auto& [name, value] : headers) {
    if (name == "host" && !is_host_value(value)) {
      // Not repeated: a malformed Host may well be a URL with a password in it.
      return std::string(
          "the Host header is not a host name or IP address with an optional port "
          "(uri-host [\":\" port])");
    }
  }
  return std::nullopt;
}

// Authorization is not a list field: two of them leave open which one a proxy in front checked.
std::optional<std::string> authorization_problem(std::size_t fields) {
  if (fields > 1) {
    return "a request must carry at most one Authorization header, not " + std::to_string(fields);
  }
  return std::nullopt;
}

// How many of each field the checks are about a request carries: counted in one pass (a
// name's length first, then its bytes), so that each check looks only where it must.
struct field_counts {
  std::size_t content_lengths = 0;
  std::size_t transfer_encodings = 0;
  std::size_t hosts = 0;
  std::size_t authorizations = 0;
};

field_counts count_fields(const std::vector<std::pair<std::string, std::string>>& headers) {
  field_counts counts;
  for (const auto& header : headers) {
    const std::string_view name = header.first;
    switch (name.size()) {
      case 4:
        counts.hosts += name == "host" ? 1 : 0;
        break;
      case 13:
        counts.authorizations += name == "authorization" ? 1 : 0;
        break;
      case 14:
        counts.content_lengths += name == "content-length" ? 1 : 0;
        break;
      case 17:
        counts.transfer_encodings += name == "transfer-encoding" ? 1 : 0;
        break;
      default:
        break;
    }
  }
  return counts;
}

std::optional<std::string> content_length_problem(
    const std::vector<std::pair<std::string, std::string>>& headers, bool& present) {
  std::optional<std::string_view> first;
  for (const auto& [name, value] : headers) {
    if (name != "content-length") continue;
    present = true;
    const std::string_view number = trim_spaces_and_tabs(value);
    if (!is_decimal_number(number)) {
      return "Content-Length " + quoted(value) + " is not one decimal number";
    }
    if (first && *first != number) {
      return "two different Content-Length values: " + quoted(*first) + " and " + quoted(number);
    }
    first = number;
  }
  return std::nullopt;
}

std::optional<std::string> transfer_encoding_problem(
    unsigned http_version, const std::vector<std::pair<std::string, std::string>>& headers,
    bool has_content_length) {
  const std::vector<transfer_coding> codings = transfer_codings(headers);
  if (codings.empty()) return std::nullopt;  // every Transfer-Encoding field adds one at least
  if (http_version < 11) return "Transfer-Encoding is not allowed in an HTTP/1.0 request";
  if (has_content_length) return "both Content-Length and Transfer-Encoding were sent";
  const transfer_coding& last = codings.back();
  if (!iequals(last.name, "chunked")) {
    return "the final Transfer-Encoding must be chunked, not " + quoted(last.name) +
           ": the body's length cannot be determined";
  }
  for (std::size_t i = 0; i + 1 < codings.size(); ++i) {
    if (iequals(codings[i].name, "chunked")) {
      return std::string("Transfer-Encoding applies chunked more than once");
    }
  }
  // chunked takes no parameters; an intermediary that drops or keeps them could frame it
  // differently.
  if (last.has_parameters) return std::string("Transfer-Encoding chunked takes no parameters");
  return std::nullopt;
}

}  // namespace

std::optional<std::string> framing_problem(
    unsigned http_version, const std::vector<std::pair<std::string, std::string>>& headers) {
  const field_counts counts = count_fields(headers);
  bool has_content_length = false;
  if (counts.content_lengths > 0) {
    if (auto problem = content_length_problem(headers, has_content_length)) return problem;
  }
  if (counts.transfer_encodings > 0) {
    if (auto problem = transfer_encoding_problem(http_version, headers, has_content_length)) {
      return problem;
    }
  }
  if (auto problem = host_problem(http_version, counts.hosts)) return problem;
  if (counts.hosts > 0) {
    if (auto problem = host_value_problem(headers)) return problem;
  }
  return authorization_problem(counts.authorizations);
}

}  // namespace image_gateway
