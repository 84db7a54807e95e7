#pragma once
// POST /v4/image/oppo with multipart/form-data (docs/api.md#multipart-image-bytes): the
// image parts `big_picture` / `small_picture` and the text parts, as views into the body.
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "image_gateway/api/image_request.hpp"
#include "image_gateway/domain/error.hpp"
#include "image_gateway/util/shared_bytes.hpp"

namespace image_gateway {

std::string_view part_field(image_kind kind);  // "big_picture": the part's name

struct image_form {
  std::shared_ptr<const std::string> body;  // owns every view below
  std::optional<std::string_view> big;      // the image parts, absent when not sent
  std::optional<std::string_view> small;
  // Every other part by name, in order (e.g. a text part `fit`); most are ignored.
  std::vector<std::pair<std::string, std::string_view>> fields;

  const std::optional<std::string_view>& image(image_kind kind) const {
    return kind == image_kind::big ? big : small;
  }
  // An image part as bytes that keep the body alive (what the checks and the upload take).
  shared_bytes image_bytes(image_kind kind) const;
  // The content of the part with this name, or nullopt.
  std::optional<std::string_view> field(std::string_view name) const;
};

// The body of a request whose Content-Type is multipart/form-data, in the documented order: a
// boundary in the Content-Type and a well-formed body (bad_form, the detail saying what is wrong),
// no part name given twice (bad_form), then at least one image part (missing_parameter). An image
// part is used as sent, file part or not, even when empty (the image checks judge it); its size is
// judged by the image checks (51). Never throws; never copies the body.
result<image_form> parse_image_form(std::shared_ptr<const std::string> body,
                                    std::string_view content_type);

}  // namespace image_gateway
