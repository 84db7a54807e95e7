// The PNG guard in front of stb 2.27: short palettes padded so no pixel reads unwritten memory,
// and the files it refuses.
#include "image/png_guard.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <string>

#include "image/pixel_decode.hpp"
#include "image_gateway/image/image_check.hpp"
#include "image_gateway/util/sample_images.hpp"
#include "support/png_bytes.hpp"

namespace image_gateway {
namespace {

std::span<const unsigned char> bytes_of(const std::string& text) {
  return {reinterpret_cast<const unsigned char*>(text.data()), text.size()};
}

using png_bytes::be32;
using png_bytes::chunk;

// An 8-bit palette PNG, one row of `indices`, with the given PLTE (and tRNS when not empty).
std::string palette_png(const std::string& indices, const std::string& plte,
                        const std::string& trns = {}) {
  const std::string ihdr = be32(static_cast<std::uint32_t>(indices.size())) + be32(1) +
                           std::string("\x08\x03\x00\x00\x00", 5);
  std::string png = png_bytes::signature + chunk("IHDR", ihdr) + chunk("PLTE", plte);
  if (!trns.empty()) png += chunk("tRNS", trns);
  return png + chunk("IDAT", png_bytes::stored_zlib(std::string(1, '\0') + indices)) +
         chunk("IEND", "");
}

// Leaves a large stretch of this thread's stack full of 0x5a, where stb's palette array will
// lie: without the guard, pixels past the palette would read these bytes.
__attribute__((noinline)) void dirty_the_stack() {
  volatile unsigned char junk[256 * 1024];
  for (auto& byte : junk) byte = 0x5a;
}

TEST(PngGuard, PixelsPastAShortPaletteAreOpaqueBlack) {
  std::string indices;
  for (int i = 0; i < 16; ++i) indices.push_back(static_cast<char>(i * 17));  // 0, 17, ..., 255
  const std::string png = palette_png(indices, std::string("\xff\x00\x00\x00\xff\x00", 6));
  ASSERT_FALSE(png_guard::check(bytes_of(png)).rewritten.empty());

  dirty_the_stack();
  const auto decoded = pixel_decode::decode_pixels(bytes_of(png), 4, 1 << 20);
  ASSERT_TRUE(decoded.pixels) << decoded.why;
  const unsigned char* pixel = decoded.pixels.get();
  EXPECT_EQ(std::memcmp(pixel, "\xff\x00\x00\xff", 4), 0);  // index 0: red
  for (int i = 1; i < 16; ++i) {                            // 17 and up: past the 2 entries
    EXPECT_EQ(std::memcmp(pixel + i * 4, "\x00\x00\x00\xff", 4), 0) << "pixel " << i;
  }
  EXPECT_FALSE(verify_decode(bytes_of(png), "big_picture_url").has_value());
}

TEST(PngGuard, AFullPaletteOrAnotherColourTypeIsLeftAlone) {
  std::string full;
  for (int i = 0; i < 256; ++i) full += std::string(3, static_cast<char>(i));
  EXPECT_TRUE(png_guard::check(bytes_of(palette_png("\x01\x02", full))).rewritten.empty());
  const auto verdict = png_guard::check(bytes_of(samples::png(16, 16, 3)));
  EXPECT_TRUE(verdict.rewritten.empty());
  EXPECT_FALSE(verdict.refusal.has_value());
}

// More transparency entries than palette entries: stb refused it before the padding, so the
// guard does.
TEST(PngGuard, ATrnsLongerThanThePaletteIsRefused) {
  const std::string png = palette_png(std::string("\x00\x01", 2),
                                      std::string("\xff\x00\x00\x00\xff\x00", 6), "\x80\x80\x80");
  const auto problem = verify_decode(bytes_of(png), "small_picture_url");
  ASSERT_TRUE(problem.has_value());
  EXPECT_EQ(problem->detail, "small_picture_url: image does not decode (bad tRNS len)");
  const std::string fits = palette_png(std::string("\x00\x01", 2),
                                       std::string("\xff\x00\x00\x00\xff\x00", 6), "\x80\x80");
  EXPECT_FALSE(verify_decode(bytes_of(fits), "small_picture_url").has_value());
}

}  // namespace
}  // namespace image_gateway
