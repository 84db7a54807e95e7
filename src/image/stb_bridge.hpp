#pragma once

#include <optional>
#include <span>
#include <string>

#include "image_gateway/image/image_check.hpp"

// The only door to stb_image, whose implementation lives in stb_image_impl.cpp alone (built with
// PNG and JPEG only, no stdio, STBI_MAX_DIMENSIONS, and a per-call allocation budget). It reads
// the headers of both formats and decodes PNGs (pixel_decode::decode_png); JPEG pixels are
// libjpeg-turbo's (jpeg_read.cpp).
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

}  // namespace image_gateway::stb_bridge
