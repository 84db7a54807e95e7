// The one translation unit that compiles stb_image_resize (Debian's libstb-dev, v0.97): the
// reference the gateway's own resampler (resample.cpp) is compared with in tests and fit_bench.
#include "pixel_ops.hpp"

#define STB_IMAGE_RESIZE_IMPLEMENTATION
#define STB_IMAGE_RESIZE_STATIC
// Third-party code: its warnings are not ours to fix.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpedantic"
#pragma GCC diagnostic ignored "-Wshadow"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wdouble-promotion"
#include <stb_image_resize.h>
#pragma GCC diagnostic pop

namespace image_gateway::pixel_ops {

bool resize_reference(const unsigned char* in, int in_width, int in_height, int channels, double s0,
                      double t0, double s1, double t1, unsigned char* out, int out_width,
                      int out_height, int out_stride) {
  const int alpha = channels == 4 ? 3 : STBIR_ALPHA_CHANNEL_NONE;
  return stbir_resize_region(
             in, in_width, in_height, 0, out, out_width, out_height, out_stride, STBIR_TYPE_UINT8,
             channels, alpha, 0, STBIR_EDGE_CLAMP, STBIR_EDGE_CLAMP, STBIR_FILTER_DEFAULT,
             STBIR_FILTER_DEFAULT, STBIR_COLORSPACE_SRGB, nullptr, static_cast<float>(s0),
             static_cast<float>(t0), static_cast<float>(s1), static_cast<float>(t1)) != 0;
}

}  // namespace image_gateway::pixel_ops
