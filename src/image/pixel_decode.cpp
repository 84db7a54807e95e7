#include "pixel_decode.hpp"

#include <utility>

#include "image_gateway/image/image_check.hpp"

namespace image_gateway::pixel_decode {

decoded_pixels decode_pixels(std::span<const unsigned char> bytes, int channels,
                             std::size_t budget_bytes) {
  const auto format = sniff_format(bytes);
  if (format == image_format::png) return decode_png(bytes, channels, budget_bytes);
  if (format == image_format::jpeg) return decode_jpeg(bytes, channels, budget_bytes);
  decoded_pixels refused;
  refused.why = "not a PNG or JPEG image";
  return refused;
}

decode_outcome decode_with_budget(std::span<const unsigned char> bytes, std::size_t budget_bytes) {
  decoded_pixels decoded = decode_pixels(bytes, 0, budget_bytes);  // freed at once: only checked
  return {decoded.pixels != nullptr, decoded.over_budget, std::move(decoded.why)};
}

}  // namespace image_gateway::pixel_decode
