#pragma once
// The answer to POST /v4/image/oppo?dry_run=true
// (docs/api.md#checking-without-uploading-dry_runtrue).
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "image_gateway/api/image_request.hpp"
#include "image_gateway/image/image_check.hpp"

namespace image_gateway {

// What a dry run found out about one image that passed every check.
struct dry_run_image {
  image_kind kind;
  image_facts facts;
  std::size_t bytes = 0;
  std::string sha256;   // lower-case hex of the bytes that would be uploaded
  bool cached = false;  // the upload cache already holds an id for them
  // With a fit asked for: whether what would be uploaded is the gateway's own encoding rather
  // than the source ("fitted"); absent from the answer without a fit.
  std::optional<bool> fitted;
};

// {"big_picture":{"format":"png","width":984,"height":369,"bytes":N,"sha256":"…",
// "cached":false},"small_picture":{…}}: an object per image, named by kind_name().
std::string dry_run_body(const std::vector<dry_run_image>& images);

}  // namespace image_gateway
