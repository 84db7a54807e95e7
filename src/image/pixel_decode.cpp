#include "pixel_decode.hpp"

#include <string>

#include "image_gateway/image/image_check.hpp"

namespace image_gateway::pixel_decode {

decoded_pixels decode_pixels(std::span<const unsigned char> bytes, int channels,
                             std::size_t budget_bytes, shrink_on_load shrink) {
  const auto format = sniff_format(bytes);
  if (format == image_format::png) return decode_png(bytes, channels, budget_bytes);
  if (format == image_format::jpeg) return decode_jpeg(bytes, channels, budget_bytes, shrink);
  decoded_pixels refused;
  refused.why = "not a PNG or JPEG image";
  return refused;
}

api_error decode_failure(const decoded_pixels& failed, std::size_t budget_bytes,
                         std::string_view field) {
  const std::string why =
      failed.over_budget ? "it needs more than " + std::to_string(budget_bytes) + " bytes of memory"
                         : failed.why;
  return api_error{error_kind::image_undecodable,
                   std::string(field) + ": image does not decode (" + why + ")", std::nullopt};
}

}  // namespace image_gateway::pixel_decode
