// libFuzzer target: a request line and header block as a client sends them, through Beast's
// parser (as the server configures it), the request target's reduction to origin-form and the
// header checks that decide whether a request is refused before anything else.
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/http.hpp>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "image_gateway/server/message_framing.hpp"
#include "image_gateway/server/request_target.hpp"
#include "image_gateway/util/strings.hpp"

namespace http = boost::beast::http;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace image_gateway;
  http::request_parser<http::empty_body> parser;
  parser.header_limit(8 * 1024);
  parser.body_limit(std::numeric_limits<std::uint64_t>::max());
  boost::beast::error_code ec;
  parser.put(boost::asio::const_buffer(data, size), ec);
  if (ec || !parser.is_header_done()) return 0;
  const auto& header = parser.get();

  const std::string_view target = header.target();
  const auto origin = origin_form(target);
  if (!origin) {
    if (target.find('@') == std::string_view::npos) __builtin_trap();  // only userinfo is refused
  } else {
    const bool absolute =
        target.size() >= 7 && (iequals(target.substr(0, 7), "http://") ||
                               (target.size() >= 8 && iequals(target.substr(0, 8), "https://")));
    if (absolute && !origin->target.starts_with('/')) __builtin_trap();
    if (origin->target.substr(0, origin->target.find('?')) != origin->path) __builtin_trap();
  }

  std::vector<std::pair<std::string, std::string>> headers;
  std::size_t hosts = 0;
  std::size_t authorizations = 0;
  for (const auto& field : header) {
    std::string name(field.name_string());
    for (char& c : name) {
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    hosts += name == "host";
    authorizations += name == "authorization";
    headers.emplace_back(std::move(name), std::string(field.value()));
  }
  const auto problem = framing_problem(header.version(), headers);
  // Accepted: one Host in HTTP/1.1, never two Authorization fields.
  if (!problem && ((header.version() >= 11 && hosts != 1) || authorizations > 1)) {
    __builtin_trap();
  }
  return 0;
}
