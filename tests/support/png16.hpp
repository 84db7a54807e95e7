#pragma once
// 16-bit RGBA PNGs written by libpng, interlaced or not: the sources of issue 16's refused fit,
// for the unit and integration tests. Header-only; the test binary links libpng.
#include <png.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace image_gateway::png16 {

// A 16-bit RGBA PNG, Adam7-interlaced or not (zlib level 1, no filters: fast to write at 16
// MP). Top half: opaque red on the left, half-transparent blue on the right; bottom half: opaque
// green.
inline std::string quadrants(int width, int height, bool interlaced) {
  std::vector<std::uint16_t> top(static_cast<std::size_t>(width) * 4);
  std::vector<std::uint16_t> bottom(top.size());
  for (int x = 0; x < width; ++x) {
    const std::uint16_t left[4] = {65535, 0, 0, 65535};
    const std::uint16_t right[4] = {0, 0, 65535, 32768};
    const std::uint16_t green[4] = {0, 65535, 0, 65535};
    for (std::size_t c = 0; c < 4; ++c) {
      const auto at = static_cast<std::size_t>(x) * 4 + c;
      top[at] = x < width / 2 ? left[c] : right[c];
      bottom[at] = green[c];
    }
  }
  // PNG stores 16-bit samples big-endian.
  for (auto* row : {&top, &bottom}) {
    for (std::uint16_t& sample : *row) {
      sample = static_cast<std::uint16_t>((sample >> 8) | (sample << 8));
    }
  }
  std::string out;
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png_create_info_struct(png);
  png_set_write_fn(
      png, &out,
      [](png_structp p, png_bytep data, png_size_t size) {
        static_cast<std::string*>(png_get_io_ptr(p))->append(reinterpret_cast<char*>(data), size);
      },
      [](png_structp) {});
  png_set_compression_level(png, 1);
  png_set_filter(png, 0, PNG_FILTER_NONE);
  png_set_IHDR(png, info, static_cast<png_uint_32>(width), static_cast<png_uint_32>(height), 16,
               PNG_COLOR_TYPE_RGBA, interlaced ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  const int passes = png_set_interlace_handling(png);
  for (int pass = 0; pass < passes; ++pass) {
    for (int y = 0; y < height; ++y) {
      png_write_row(png, reinterpret_cast<png_const_bytep>((y < height / 2 ? top : bottom).data()));
    }
  }
  png_write_end(png, nullptr);
  png_destroy_write_struct(&png, &info);
  return out;
}

}  // namespace image_gateway::png16
