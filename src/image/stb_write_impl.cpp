// The one translation unit of the service that compiles stb_image_write (the sample images of
// the sandbox and tests have their own, static copy).
#include <climits>

#include "pixel_ops.hpp"

#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STB_IMAGE_WRITE_STATIC
#define STBI_WRITE_NO_STDIO
// Third-party code: its warnings are not ours to fix.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpedantic"
#pragma GCC diagnostic ignored "-Wshadow"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#include <stb_image_write.h>
#pragma GCC diagnostic pop

namespace image_gateway::pixel_ops {

namespace {

void append(void* context, void* data, int size) {
  static_cast<std::string*>(context)->append(static_cast<const char*>(data),
                                             static_cast<std::size_t>(size));
}

}  // namespace

std::string encode_png(const unsigned char* pixels, int width, int height, int channels) {
  std::string out;
  if (width <= 0 || height <= 0 || width > INT_MAX / channels) return out;
  if (stbi_write_png_to_func(append, &out, width, height, channels, pixels, width * channels) ==
      0) {
    out.clear();
  }
  return out;
}

std::string encode_jpeg(const unsigned char* pixels, int width, int height, int quality) {
  std::string out;
  if (width <= 0 || height <= 0) return out;
  if (stbi_write_jpg_to_func(append, &out, width, height, 3, pixels, quality) == 0) out.clear();
  return out;
}

}  // namespace image_gateway::pixel_ops
