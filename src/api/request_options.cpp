#include "image_gateway/api/request_options.hpp"

#include <string>

#include "image_gateway/util/strings.hpp"

namespace image_gateway {

namespace {

api_error invalid(std::string detail) {
  return api_error{error_kind::field_invalid, std::move(detail), std::nullopt};
}

}  // namespace

result<request_options> parse_request_options(std::string_view target) {
  request_options options;
  const std::size_t question = target.find('?');
  if (question == std::string_view::npos) return options;
  std::string_view query = target.substr(question + 1);
  const std::size_t fragment = query.find('#');
  if (fragment != std::string_view::npos) query = query.substr(0, fragment);

  // Names and values are matched as decoded ("dry%5Frun=%74rue" is dry_run=true): a filter in
  // front that decodes them must see what the gateway acts on. The query itself is never
  // echoed (it is part of the request target).
  const auto parameters = parse_form_urlencoded(query);
  if (!parameters) {
    return invalid(
        "the query string is malformed: a '%' must be followed by two hex digits (it is "
        "percent-decoded like a form: %XX is a byte, + a space)");
  }
  bool seen = false;
  for (const auto& [name, value] : *parameters) {
    if (name != "dry_run") continue;
    if (seen) return invalid("dry_run is given twice");
    seen = true;
    if (value != "true" && value != "1") {
      return invalid("dry_run must be true or 1, not \"" + printable_excerpt(value, 32) + "\"");
    }
    options.dry_run = true;
  }
  return options;
}

}  // namespace image_gateway
