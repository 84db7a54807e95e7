#pragma once

#include <cstddef>
#include <string>

namespace image_gateway::samples {

// Valid images made in memory (stb_image_write): served by the sandbox, fixtures for tests.
// `seed` varies the pixels, so different seeds give different bytes (and upload-cache keys).
std::string png(int width, int height, unsigned seed = 0);
std::string jpeg(int width, int height, unsigned seed = 0, int quality = 90);

// The same image grown to exactly `total_bytes` with a private ancillary chunk before IEND
// (PNG) or a comment segment after SOI (JPEG); the pixels and dimensions are unchanged.
// Requires total_bytes >= the image's size plus the chunk overhead (12 bytes PNG, 4 JPEG).
std::string pad_png(const std::string& png_bytes, std::size_t total_bytes);
std::string pad_jpeg(const std::string& jpeg_bytes, std::size_t total_bytes);

}  // namespace image_gateway::samples
