#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string_view>

#include "image_gateway/api/error.hpp"

namespace image_gateway {

enum class image_format { png, jpeg };

std::string_view mime_type(image_format format);       // "image/png", "image/jpeg"
std::string_view file_extension(image_format format);  // ".png", ".jpg"

// OPPO's rule for one kind of picture.
struct image_rule {
  int width = 0;
  int height = 0;
  std::size_t max_bytes = 0;
};

struct image_facts {
  image_format format;
  int width = 0;
  int height = 0;
};

// The format by magic bytes alone, or nullopt when it is neither PNG nor JPEG.
std::optional<image_format> sniff_format(std::span<const unsigned char> bytes);

// The cheap checks, before any pixel is decoded, in order: byte limit (image_too_large),
// magic bytes (image_bad_format), header dimensions via stbi_info_from_memory whose format must
// match the magic (image_bad_format), exact width x height (image_bad_size). `field` prefixes
// the detail: "big_picture_url: image is 1000x400 px, OPPO requires 984x369".
result<image_facts> inspect_image(std::span<const unsigned char> bytes, const image_rule& rule,
                                  std::string_view field);

// Default memory a full decode may allocate in total (984x369x4 is ~1.4 MB).
inline constexpr std::size_t default_decode_budget = 8 * 1024 * 1024;

// A full decode with stb_image under an allocation budget: nullopt when the pixels decode,
// else image_undecodable with a detail. Thread-safe; CPU-heavy, so never on an I/O thread.
std::optional<api_error> verify_decode(std::span<const unsigned char> bytes, std::string_view field,
                                       std::size_t budget_bytes = default_decode_budget);

}  // namespace image_gateway
