#include "image_gateway/domain/image_kind.hpp"

namespace image_gateway {

std::string_view url_field(image_kind kind) {
  return kind == image_kind::big ? "big_picture_url" : "small_picture_url";
}

std::string_view id_field(image_kind kind) {
  return kind == image_kind::big ? "big_picture_id" : "small_picture_id";
}

std::string_view kind_name(image_kind kind) {
  return kind == image_kind::big ? "big_picture" : "small_picture";
}

}  // namespace image_gateway
