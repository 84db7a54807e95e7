#pragma once
// The two pictures of a request, and their names in the API and in OPPO's: a domain type used by
// the request parser, the caches, revalidation and the OPPO client alike.
#include <string_view>

namespace image_gateway {

enum class image_kind { big, small };
inline constexpr image_kind all_image_kinds[] = {image_kind::big, image_kind::small};

std::string_view url_field(image_kind kind);  // "big_picture_url"
std::string_view id_field(image_kind kind);   // "big_picture_id"
std::string_view kind_name(image_kind kind);  // "big_picture" (OPPO's upload path segment)

}  // namespace image_gateway
