#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "image_gateway/api/error.hpp"

namespace image_gateway {

enum class image_kind { big, small };
inline constexpr image_kind all_image_kinds[] = {image_kind::big, image_kind::small};

std::string_view url_field(image_kind kind);  // "big_picture_url"
std::string_view id_field(image_kind kind);   // "big_picture_id"
std::string_view kind_name(image_kind kind);  // "big_picture" (OPPO's upload path segment)

// What the caller asked for: a URL per image kind, absent when not asked for.
struct image_request {
  std::optional<std::string> big_url;
  std::optional<std::string> small_url;

  const std::optional<std::string>& url(image_kind kind) const {
    return kind == image_kind::big ? big_url : small_url;
  }
};

// SPEC §2-3 on the raw body, in order: a JSON object (bad_json), each field a string or null
// (field_invalid), at least one asked for (missing_parameter), then each URL's syntax with
// url_policy (url_invalid), big before small. Never throws. The URLs it returns are the ones to
// fetch: as libcurl normalised them (url_parts::normalised), without a fragment.
result<image_request> parse_image_request(std::string_view body);

}  // namespace image_gateway
