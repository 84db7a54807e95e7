#pragma once
// What the query string of POST /v4/image/oppo may ask for (docs/api.md, "Checking without
// uploading").
#include <string_view>

#include "image_gateway/domain/error.hpp"

namespace image_gateway {

struct request_options {
  // ?dry_run=true (or 1): every stage up to the upload, then the facts of each image.
  bool dry_run = false;
};

// The options of a request target ("/v4/image/oppo?dry_run=true"). The query is decoded like
// application/x-www-form-urlencoded before anything is matched: "%XX" is the byte XX in names
// and values alike ("dry%5Frun=%74rue" is dry_run=true) and "+" is a space (what URLSearchParams,
// Go's url.ParseQuery and Python's parse_qs read). Every field_invalid (21003):
//   a '%' anywhere in the query not followed by two hex digits (the query is not echoed);
//   "dry_run is given twice" (however each was spelled);
//   a dry_run value other than exactly `true` or `1` (also `false`, an empty one, or none).
// Other query parameters are ignored.
result<request_options> parse_request_options(std::string_view target);

}  // namespace image_gateway
