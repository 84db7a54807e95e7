#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

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

// The same gradient as png() with every pixel's alpha set to `alpha` (RGBA PNG).
std::string png_rgba(int width, int height, unsigned char alpha, unsigned seed = 0);

// Random RGB pixels (incompressible: a PNG of them is larger than width*height*3 bytes).
std::string noise_png(int width, int height, unsigned seed = 0);

// Photo-like pixels (gradient, soft waves and a little grain: compresses like a photograph, not
// like a flat gradient), for benchmarks and the README's pictures.
std::string photo_jpeg(int width, int height, unsigned seed = 0, int quality = 90);
std::string photo_png(int width, int height, unsigned seed = 0);

// A test card (colour bars, a circle, a grid: flat colours, small as PNG) whose geometry shows
// at a glance what contain and cover did; for the README's before/after pictures.
std::string test_card_png(int width, int height);

// stb_image_write on RGB pixels (width * height * 3), for the encoder comparison of the bench.
std::string encode_png_rgb(const unsigned char* pixels, int width, int height);
std::string encode_jpeg_rgb(const unsigned char* pixels, int width, int height, int quality);

// A decompression bomb: a valid PNG header of width x height RGB whose IDAT inflates to
// `inflated_bytes` zero bytes (far more than the header's pixels need when large).
std::string png_bomb(int width, int height, std::size_t inflated_bytes);

// A PNG or JPEG decoded to RGBA with a private copy of stb_image (no budget: trusted bytes
// only), for tests to look at what the gateway made; nullopt when it does not decode.
struct rgba_image {
  int width = 0;
  int height = 0;
  std::vector<unsigned char> pixels;  // width * height * 4, rows top to bottom
  const unsigned char* at(int x, int y) const {
    return pixels.data() + (static_cast<std::size_t>(y) * static_cast<std::size_t>(width) +
                            static_cast<std::size_t>(x)) *
                               4;
  }
};
std::optional<rgba_image> decode_rgba(const std::string& bytes);

// Peak signal-to-noise ratio of `b` against the reference `a`, in dB over the R, G, B and A of
// every pixel (40 dB and more: no difference anyone sees); +infinity when they are equal, NaN
// when their sizes differ. How shrink-on-load is compared with the full decode (tests, bench).
double psnr(const rgba_image& a, const rgba_image& b);

}  // namespace image_gateway::samples
