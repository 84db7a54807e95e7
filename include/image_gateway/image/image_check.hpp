#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string_view>

#include "image_gateway/domain/error.hpp"
#include "image_gateway/image/fit_types.hpp"

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
// magic bytes (image_bad_format), header dimensions via stb's header reader (what
// stbi_info_from_memory runs) whose format must match the magic (image_bad_format), exact
// width x height (image_bad_size; also for a header larger than stb reads at all). `field`
// prefixes the detail:
//   "big_picture_url: image is 1048577 bytes, OPPO allows at most 1048576"
//   "big_picture_url: not a PNG or JPEG image (magic bytes; it looks like GIF)"
//   "big_picture_url: PNG header could not be read (<stb's reason>)"
//   "big_picture_url: image is 1000x400 px, OPPO requires 984x369"
result<image_facts> inspect_image(std::span<const unsigned char> bytes, const image_rule& rule,
                                  std::string_view field);

// The cheap checks of a source to be fitted (docs/fitting.md), before any pixel is decoded: byte
// limit (image_too_large), magic bytes and header as above (image_bad_format), then width x height
// at most limits.max_source_pixels (image_bad_size):
//   "big_picture_url: image is 10485761 bytes, a fit accepts at most 10485760"
//   "big_picture_url: image is 5000x4000 px (20000000 pixels), a fit accepts at most 16777216
//   pixels"
result<image_facts> inspect_fit_source(std::span<const unsigned char> bytes,
                                       const fit_limits& limits, std::string_view field);

// What verify_decode checks before a decoder sees a byte: strict magic bytes, and for a JPEG at
// most 64 progressive scans. nullopt when the bytes may be decoded.
std::optional<api_error> decode_precheck(std::span<const unsigned char> bytes,
                                         std::string_view field);

// Default memory a full decode may allocate in total (984x369x4 is ~1.4 MB).
inline constexpr std::size_t default_decode_budget = 8 * 1024 * 1024;

// A full decode (stb for PNG, libjpeg-turbo for JPEG) under a memory budget: nullopt when the
// pixels decode, else image_undecodable with a detail: "big_picture_url: image does not decode
// (<the decoder's reason>)", "... (it needs more than 8388608 bytes of memory)", or, for a JPEG
// with more than 64 SOS markers (each progressive scan is a pass over every block, so CPU is
// bounded by refusing before decoding), "... (too many progressive scans: 200, at most 64)".
// Thread-safe (the budget and stb's failure reason are thread_local); CPU-heavy, so never on
// an I/O thread.
std::optional<api_error> verify_decode(std::span<const unsigned char> bytes, std::string_view field,
                                       std::size_t budget_bytes = default_decode_budget);

}  // namespace image_gateway
