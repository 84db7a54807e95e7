#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "image_gateway/image/image_check.hpp"

// The only door to stb_image, whose implementation lives in stb_image_impl.cpp alone (built with
// PNG and JPEG only, no stdio, STBI_MAX_DIMENSIONS, and a per-call allocation budget).
namespace image_gateway::stb_bridge {

// The largest width or height stb accepts; larger headers fail with "too large". Fitting
// accepts panoramas, so this is generous: memory is bounded by the fit's pixel cap (checked on
// the header) and every decode's allocation budget, not by this.
inline constexpr int max_dimension = 16384;

struct header_info {
  bool ok = false;
  std::optional<image_format> format;  // which of stb's decoders recognises the bytes
  int width = 0;
  int height = 0;
  std::string why;  // stbi_failure_reason() when !ok
};

// The header only, no pixels: stbi_info_from_memory's work, keeping the decoder's own reason.
header_info info(std::span<const unsigned char> bytes);

struct decode_outcome {
  bool ok = false;
  bool over_budget = false;  // an allocation would have passed budget_bytes
  std::string why;           // stbi_failure_reason() when !ok
};

// A full decode (req_comp 0) whose allocations together may not exceed budget_bytes.
decode_outcome decode_with_budget(std::span<const unsigned char> bytes, std::size_t budget_bytes);

// Decoded pixels, owned; freed with stb's allocator (outside any budget).
struct pixel_deleter {
  void operator()(unsigned char* pixels) const;
};
using pixel_buffer = std::unique_ptr<unsigned char, pixel_deleter>;

struct decoded_pixels {
  pixel_buffer pixels;  // width * height * channels bytes, rows top to bottom; null on failure
  int width = 0;
  int height = 0;
  int channels = 0;  // as asked (3 RGB, 4 RGBA), or the file's own when asked for 0
  bool over_budget = false;
  std::string why;  // stbi_failure_reason() when pixels is null
};

// A full decode to `channels` (3 or 4, or 0 for the file's own) per pixel under the same
// allocation budget.
decoded_pixels decode_pixels(std::span<const unsigned char> bytes, int channels,
                             std::size_t budget_bytes);

}  // namespace image_gateway::stb_bridge
