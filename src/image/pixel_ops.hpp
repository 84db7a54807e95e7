#pragma once
// Scaling and encoding of decoded pixels: the resampler (resample.cpp), the box reduction
// (box_reduce.cpp), libpng (png_write.cpp) and libjpeg-turbo (jpeg_write.cpp), each behind this
// small interface. Pixels are 8-bit, interleaved, rows top to bottom.
#include <string>

namespace image_gateway::pixel_ops {

// The window [s0, s1) x [t0, t1) of the input (as fractions of its width and height) scaled to
// out_width x out_height, written at `out` with `out_stride` bytes per row (other bytes of the
// rows untouched). Gamma-correct (in linear light) with stb_image_resize's default filters
// (Mitchell when shrinking, Catmull-Rom when growing), edges clamped; with 4 channels the 4th is
// alpha and colours are weighted by it. False on an empty size or window, or out of memory.
bool resize(const unsigned char* in, int in_width, int in_height, int channels, double s0,
            double t0, double s1, double t1, unsigned char* out, int out_width, int out_height,
            int out_stride);

// The same through stb_image_resize 0.97: the reference `resize` is held to (tests/unit and
// bench/fit_bench), not used by the gateway.
bool resize_reference(const unsigned char* in, int in_width, int in_height, int channels, double s0,
                      double t0, double s1, double t1, unsigned char* out, int out_width,
                      int out_height, int out_stride);

// Shrink-on-load for a decoded PNG: the image reduced in place by the integer factor k, each
// output pixel the mean of a k x k box of input pixels (at the right and bottom edges, of the
// pixels there are), so it becomes ceil(width / k) x ceil(height / k). Means are taken in linear
// light, as `resize` filters, and with 4 channels weighted by alpha (premultiplied: a transparent
// pixel's colour counts for nothing, which straight averaging would let bleed into the edge).
// Cheap (integer sums and table look-ups) next to the filter, which then only has the reduced
// image to read. Returns true when any input alpha (4 channels) is below 255.
bool box_reduce(unsigned char* pixels, int width, int height, int channels, int k);

// The gateway's PNG compression: level 3 gives files about a third smaller than
// stb_image_write's in less CPU; 6 saves another ~9 % for 5x the CPU (bench/fit_bench).
inline constexpr int png_zlib_level = 3;

// PNG of 3 (RGB) or 4 (RGBA) channels; empty when encoding fails. Other levels: the bench only.
std::string encode_png(const unsigned char* pixels, int width, int height, int channels,
                       int zlib_level = png_zlib_level);

// Baseline JPEG (4:2:0, libjpeg's defaults) of RGB pixels at quality 1..100; empty when
// encoding fails.
std::string encode_jpeg(const unsigned char* pixels, int width, int height, int quality);

}  // namespace image_gateway::pixel_ops
