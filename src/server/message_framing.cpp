#include "image_gateway/server/message_framing.hpp"

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

// The transfer codings of every Transfer-Encoding field, in order, parameters dropped.
std::vector<std::string_view> transfer_codings(
    const std::vector<std::pair<std::string, std::string>>& headers) {
  std::vector<std::string_view> codings;
  for (const auto& [name, value] : headers) {
    if (name != "transfer-encoding") continue;
    std::string_view rest = value;
    for (;;) {
      const std::size_t comma = rest.find(',');
      std::string_view coding = rest.substr(0, comma);
      coding = trim_spaces_and_tabs(coding.substr(0, coding.find(';')));
      codings.push_back(coding);  // an empty element is kept: it is not "chunked" either
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  return codings;
}

std::optional<std::string> host_problem(
    unsigned http_version, const std::vector<std::pair<std::string, std::string>>& headers) {
  if (http_version < 11) return std::nullopt;  // HTTP/1.0 predates Host as a requirement
  std::size_t hosts = 0;
  for (const auto& header : headers) {
    if (header.first == "host") ++hosts;
  }
  if (hosts == 0) return "an HTTP/1.1 request must carry a Host header";
  if (hosts > 1)
    return "an HTTP/1.1 request must carry exactly one Host header, not " + std::to_string(hosts);
  return std::nullopt;
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
  const std::vector<std::string_view> codings = transfer_codings(headers);
  if (codings.empty()) return std::nullopt;  // every Transfer-Encoding field adds one at least
  if (http_version < 11) return "Transfer-Encoding is not allowed in an HTTP/1.0 request";
  if (has_content_length) return "both Content-Length and Transfer-Encoding were sent";
  const std::string_view last = codings.back();
  if (!iequals(last, "chunked")) {
    return "the final Transfer-Encoding must be chunked, not " + quoted(last) +
           ": the body's length cannot be determined";
  }
  for (std::size_t i = 0; i + 1 < codings.size(); ++i) {
    if (iequals(codings[i], "chunked")) {
      return std::string("Transfer-Encoding applies chunked more than once");
    }
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> framing_problem(
    unsigned http_version, const std::vector<std::pair<std::string, std::string>>& headers) {
  bool has_content_length = false;
  if (auto problem = content_length_problem(headers, has_content_length)) return problem;
  if (auto problem = transfer_encoding_problem(http_version, headers, has_content_length)) {
    return problem;
  }
  return host_problem(http_version, headers);
}

}  // namespace image_gateway
