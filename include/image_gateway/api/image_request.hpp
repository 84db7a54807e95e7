#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "image_gateway/domain/error.hpp"
#include "image_gateway/domain/image_kind.hpp"
#include "image_gateway/image/fit_types.hpp"

namespace image_gateway {

// What the caller asked for: a URL per image kind, absent when not asked for, and what to do
// with an image of another size (docs/fitting.md).
struct image_request {
  std::optional<std::string> big_url;
  std::optional<std::string> small_url;
  fit_mode fit = fit_mode::none;
  rgb background = white;

  const std::optional<std::string>& url(image_kind kind) const {
    return kind == image_kind::big ? big_url : small_url;
  }
};

// The field_invalid errors (21003) for a "fit" or "background" value that is not allowed,
// shared by the JSON and multipart parsers:
//   "fit must be one of \"none\", \"contain\", \"cover\""
//   "background must be a colour \"#RRGGBB\""
api_error invalid_fit();
api_error invalid_background();

// The raw body, judged in this order (docs/api.md): a JSON object (bad_json) in which no object,
// at any depth, gives a key twice (bad_json, "key \"meta.id\" is given twice in the request
// body": a reader that keeps the first value must not see other URLs), each URL field a string or
// null (field_invalid), "fit" (absent or null: none) and "background" (absent or null:
// #FFFFFF) valid (field_invalid), at least one URL asked for (missing_parameter), then each
// URL's syntax with url_policy (url_invalid), big before small. Never throws. The URLs it returns
// are the ones to fetch: as libcurl normalised them (url_parts::normalised), without a fragment.
result<image_request> parse_image_request(std::string_view body);

}  // namespace image_gateway
