#include "image_gateway/api/request_options.hpp"

#include <algorithm>
#include <string>

namespace image_gateway {

result<request_options> parse_request_options(std::string_view target) {
  request_options options;
  const std::size_t question = target.find('?');
  if (question == std::string_view::npos) return options;
  std::string_view query = target.substr(question + 1);
  const std::size_t fragment = query.find('#');
  if (fragment != std::string_view::npos) query = query.substr(0, fragment);

  bool seen = false;
  while (!query.empty()) {
    const std::size_t end = std::min(query.find('&'), query.size());
    const std::string_view pair = query.substr(0, end);
    query.remove_prefix(std::min(end + 1, query.size()));
    const std::size_t equals = pair.find('=');
    if (pair.substr(0, equals) != "dry_run") continue;
    if (seen) return api_error{error_kind::field_invalid, "dry_run is given twice", std::nullopt};
    seen = true;
    const std::string_view value =
        equals == std::string_view::npos ? std::string_view() : pair.substr(equals + 1);
    if (value != "true" && value != "1") {
      std::string shown;
      for (const char c : value.substr(0, 32)) shown += (c >= 0x20 && c < 0x7f) ? c : '?';
      return api_error{error_kind::field_invalid,
                       "dry_run must be true or 1, not \"" + shown + "\"", std::nullopt};
    }
    options.dry_run = true;
  }
  return options;
}

}  // namespace image_gateway
