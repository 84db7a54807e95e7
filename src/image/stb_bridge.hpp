#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>

#include "image_gateway/image/image_check.hpp"

// The only door to stb_image, whose implementation lives in stb_image_impl.cpp alone (built with
// PNG and JPEG only, no stdio, STBI_MAX_DIMENSIONS, and a per-call allocation budget).
namespace image_gateway::stb_bridge {

// The largest width or height stb accepts; larger headers fail with "too large".
inline constexpr int max_dimension = 4096;

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

}  // namespace image_gateway::stb_bridge
