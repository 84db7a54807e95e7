#pragma once
// What the query string of POST /v4/image/oppo may ask for (SPEC §2).
#include <string_view>

#include "image_gateway/domain/error.hpp"

namespace image_gateway {

struct request_options {
  // ?dry_run=true (or 1): every stage up to the upload, then the facts of each image.
  bool dry_run = false;
};

// The options of a request target ("/v4/image/oppo?dry_run=true"). `dry_run` must be exactly
// `true` or `1` and given once; any other value (also `false`, an empty one, or none) is
// field_invalid (21003). Other query parameters are ignored.
result<request_options> parse_request_options(std::string_view target);

}  // namespace image_gateway
