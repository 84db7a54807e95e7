#include "srgb_tables.hpp"

#include <cmath>
#include <cstddef>

namespace image_gateway::pixel_ops {

srgb_tables::srgb_tables() {
  const auto linear = [](double code) {
    const double c = code / 255.0;
    return c <= 0.04045 ? c / 12.92 : std::pow((c + 0.055) / 1.055, 2.4);
  };
  for (int code = 0; code < 256; ++code) {
    const auto i = static_cast<std::size_t>(code);
    to_linear[i] = static_cast<std::uint16_t>(std::lround(linear(code) * 65535.0));
    to_linear_float[i] = static_cast<float>(to_linear[i]) / 65535.0F;
  }
  // The boundaries between codes are the midpoints of their neighbouring linear values.
  int code = 0;
  for (int value = 0; value < 65536; ++value) {
    while (code < 255 && value * 2 >= to_linear[static_cast<std::size_t>(code)] +
                                          to_linear[static_cast<std::size_t>(code + 1)]) {
      ++code;
    }
    from_linear[static_cast<std::size_t>(value)] = static_cast<unsigned char>(code);
  }
}

const srgb_tables& srgb() {
  static const srgb_tables built;
  return built;
}

}  // namespace image_gateway::pixel_ops
