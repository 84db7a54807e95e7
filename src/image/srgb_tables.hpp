#pragma once
// sRGB code values to linear light and back, shared by the box reduction and the resampler.
#include <array>
#include <cstdint>
#include <vector>

namespace image_gateway::pixel_ops {

struct srgb_tables {
  // Each code value in linear light, in 16 bits and as a float in [0, 1].
  std::array<std::uint16_t, 256> to_linear{};
  std::array<float, 256> to_linear_float{};
  // A 16-bit linear value to the nearest code value: exact enough that a box or a filter over
  // one colour comes out as that colour.
  std::vector<unsigned char> from_linear = std::vector<unsigned char>(65536);

  srgb_tables();
};

// Built once, on first use.
const srgb_tables& srgb();

}  // namespace image_gateway::pixel_ops
