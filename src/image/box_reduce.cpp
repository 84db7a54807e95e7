// The box reduction before the quality filter (shrink-on-load for PNG sources; JPEG sources are
// reduced in libjpeg-turbo's DCT instead): integer sums in linear light through two tables.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "pixel_ops.hpp"
#include "srgb_tables.hpp"

namespace image_gateway::pixel_ops {

bool box_reduce(unsigned char* pixels, int width, int height, int channels, int k) {
  const srgb_tables& t = srgb();
  const bool alpha = channels == 4;
  const auto w = static_cast<std::size_t>(width);
  const auto c = static_cast<std::size_t>(channels);
  const auto step = static_cast<std::size_t>(k);
  const std::size_t out_width = (w + step - 1) / step;
  const std::size_t out_height = (static_cast<std::size_t>(height) + step - 1) / step;
  // Per output pixel of a row: the colour sums (weighted by alpha with 4 channels), the alpha sum.
  std::vector<std::uint64_t> sums(out_width * c);
  bool transparent = false;
  for (std::size_t oy = 0; oy < out_height; ++oy) {
    std::fill(sums.begin(), sums.end(), 0);
    const std::size_t y0 = oy * step;
    const std::size_t y1 = std::min(y0 + step, static_cast<std::size_t>(height));
    for (std::size_t y = y0; y < y1; ++y) {
      const unsigned char* in = pixels + y * w * c;
      // Box by box along the row (no division per pixel).
      for (std::size_t ox = 0; ox < out_width; ++ox) {
        std::uint64_t* sum = sums.data() + ox * c;
        const std::size_t box_width = std::min(step, w - ox * step);
        for (std::size_t x = 0; x < box_width; ++x, in += c) {
          if (alpha) {
            const unsigned a = in[3];
            transparent = transparent || a != 255;
            sum[0] += std::uint64_t{t.to_linear[in[0]]} * a;
            sum[1] += std::uint64_t{t.to_linear[in[1]]} * a;
            sum[2] += std::uint64_t{t.to_linear[in[2]]} * a;
            sum[3] += a;
          } else {
            for (std::size_t i = 0; i < c; ++i) sum[i] += t.to_linear[in[i]];
          }
        }
      }
    }
    // In place: output row oy ends at or before input row y1 starts (ceil(width / k) * k >=
    // width), and rows before y1 have all been read.
    unsigned char* out = pixels + oy * out_width * c;
    for (std::size_t ox = 0; ox < out_width; ++ox) {
      const std::size_t box_width = std::min(step, w - ox * step);
      const std::uint64_t count = box_width * (y1 - y0);
      const std::uint64_t* sum = sums.data() + ox * c;
      unsigned char* pixel = out + ox * c;
      if (alpha) {
        const std::uint64_t weight = sum[3];
        for (std::size_t i = 0; i < 3; ++i) {
          pixel[i] = weight == 0 ? 0 : t.from_linear[(sum[i] + weight / 2) / weight];
        }
        pixel[3] = static_cast<unsigned char>((sum[3] + count / 2) / count);
      } else {
        for (std::size_t i = 0; i < c; ++i) pixel[i] = t.from_linear[(sum[i] + count / 2) / count];
      }
    }
  }
  return transparent;
}

}  // namespace image_gateway::pixel_ops
