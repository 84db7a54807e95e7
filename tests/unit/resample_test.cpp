// The gateway's resampler against stb_image_resize, the filter it replaced: the same picture
// (PSNR >= 45 dB) on photo-like and test-card pixels, RGB and RGBA, shrinking, growing and
// cropping; and the properties a fit relies on (a flat colour stays that colour, transparency is
// weighted, only the asked-for rows and bytes are written).
#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

#include "image/pixel_ops.hpp"
#include "image_gateway/util/sample_images.hpp"

namespace image_gateway {
namespace {

samples::rgba_image pixels_of(const std::string& encoded) {
  auto decoded = samples::decode_rgba(encoded);
  EXPECT_TRUE(decoded.has_value());
  return decoded.value_or(samples::rgba_image{});
}

// The RGBA image as `channels` channels (3 drops alpha).
std::vector<unsigned char> with_channels(const samples::rgba_image& image, int channels) {
  std::vector<unsigned char> out;
  for (std::size_t i = 0; i < image.pixels.size(); i += 4) {
    for (int c = 0; c < channels; ++c) out.push_back(image.pixels[i + static_cast<std::size_t>(c)]);
  }
  return out;
}

// Back to RGBA (opaque when there are 3 channels) for samples::psnr.
samples::rgba_image as_rgba(const std::vector<unsigned char>& pixels, int width, int height,
                            int channels) {
  samples::rgba_image image{width, height, {}};
  for (std::size_t i = 0; i < pixels.size(); i += static_cast<std::size_t>(channels)) {
    for (int c = 0; c < 3; ++c) image.pixels.push_back(pixels[i + static_cast<std::size_t>(c)]);
    image.pixels.push_back(channels == 4 ? pixels[i + 3] : 255);
  }
  return image;
}

struct window {
  double s0, t0, s1, t1;
};

struct scaled {
  samples::rgba_image ours;
  samples::rgba_image reference;
};

scaled both_ways(const samples::rgba_image& source, int channels, window w, int out_width,
                 int out_height) {
  const std::vector<unsigned char> in = with_channels(source, channels);
  const auto size = static_cast<std::size_t>(out_width * out_height * channels);
  std::vector<unsigned char> ours(size);
  std::vector<unsigned char> reference(size);
  EXPECT_TRUE(pixel_ops::resize(in.data(), source.width, source.height, channels, w.s0, w.t0, w.s1,
                                w.t1, ours.data(), out_width, out_height, out_width * channels));
  EXPECT_TRUE(pixel_ops::resize_reference(in.data(), source.width, source.height, channels, w.s0,
                                          w.t0, w.s1, w.t1, reference.data(), out_width, out_height,
                                          out_width * channels));
  return {as_rgba(ours, out_width, out_height, channels),
          as_rgba(reference, out_width, out_height, channels)};
}

TEST(Resample, GivesStbsPictureWhenShrinkingGrowingAndCropping) {
  const samples::rgba_image photo = pixels_of(samples::photo_png(1000, 750, 3));
  const samples::rgba_image card = pixels_of(samples::test_card_png(800, 600));
  const samples::rgba_image translucent = pixels_of(samples::png_rgba(300, 200, 128, 5));
  const struct {
    const char* name;
    const samples::rgba_image* source;
    int channels;
    window w;
    int width;
    int height;
  } cases[] = {
      {"photo RGB contain 2x", &photo, 3, {0, 0, 1, 1}, 492, 369},
      {"photo RGB cover crop", &photo, 3, {0.125, 0, 0.875, 1}, 144, 144},
      {"photo RGBA grow", &photo, 4, {0, 0, 1, 1}, 1500, 1125},
      {"test card RGB 5.5x", &card, 3, {0, 0, 1, 1}, 144, 108},
      {"test card RGBA off-centre window", &card, 4, {0.1, 0.2, 0.6, 0.9}, 200, 280},
      {"translucent RGBA shrink", &translucent, 4, {0, 0, 1, 1}, 97, 61},
  };
  for (const auto& c : cases) {
    const scaled result = both_ways(*c.source, c.channels, c.w, c.width, c.height);
    const double db = samples::psnr(result.ours, result.reference);
    std::printf("%s: %.1f dB against stb_image_resize\n", c.name, db);
    EXPECT_GE(db, 45.0) << c.name;
  }
}

TEST(Resample, FlatColourStaysExactlyThatColour) {
  for (const int code : {0, 1, 2, 17, 128, 200, 254, 255}) {
    std::vector<unsigned char> in(64 * 48 * 3, static_cast<unsigned char>(code));
    std::vector<unsigned char> out(20 * 10 * 3);
    ASSERT_TRUE(pixel_ops::resize(in.data(), 64, 48, 3, 0, 0, 1, 1, out.data(), 20, 10, 60));
    for (const unsigned char value : out) ASSERT_EQ(value, code) << "code " << code;
  }
}

TEST(Resample, TransparentPixelsLendNoColour) {
  // Left half opaque red, right half fully transparent green: every output pixel that has any
  // opacity is pure red (the green is weighted by its zero alpha), and alpha falls across.
  std::vector<unsigned char> in;
  for (int y = 0; y < 16; ++y) {
    for (int x = 0; x < 32; ++x) {
      const bool left = x < 16;
      in.insert(in.end(), {static_cast<unsigned char>(left ? 255 : 0),
                           static_cast<unsigned char>(left ? 0 : 255), 0,
                           static_cast<unsigned char>(left ? 255 : 0)});
    }
  }
  std::vector<unsigned char> out(8 * 4 * 4);
  ASSERT_TRUE(pixel_ops::resize(in.data(), 32, 16, 4, 0, 0, 1, 1, out.data(), 8, 4, 32));
  for (std::size_t i = 0; i < out.size(); i += 4) {
    if (out[i + 3] == 0) continue;
    EXPECT_EQ(out[i], 255);
    EXPECT_EQ(out[i + 1], 0);
  }
  EXPECT_EQ(out[3], 255);  // far left: opaque
  EXPECT_EQ(out[31], 0);   // far right: clear
}

TEST(Resample, WritesOnlyItsRowsWithinTheStride) {
  std::vector<unsigned char> in(40 * 30 * 3, 90);
  // A 10x5 picture written into rows of 16 pixels: the 6 pixels after each row stay untouched.
  std::vector<unsigned char> out(16 * 5 * 3, 7);
  ASSERT_TRUE(pixel_ops::resize(in.data(), 40, 30, 3, 0, 0, 1, 1, out.data(), 10, 5, 16 * 3));
  for (int y = 0; y < 5; ++y) {
    for (int x = 0; x < 16; ++x) {
      const auto at = static_cast<std::size_t>((y * 16 + x) * 3);
      EXPECT_EQ(out[at], x < 10 ? 90 : 7) << x << "," << y;
    }
  }
}

TEST(Resample, RefusesEmptySizesAndWindows) {
  std::vector<unsigned char> in(4 * 4 * 3, 1);
  std::vector<unsigned char> out(4 * 4 * 3);
  EXPECT_FALSE(pixel_ops::resize(in.data(), 4, 4, 3, 0, 0, 1, 1, out.data(), 0, 4, 12));
  EXPECT_FALSE(pixel_ops::resize(in.data(), 0, 4, 3, 0, 0, 1, 1, out.data(), 4, 4, 12));
  EXPECT_FALSE(pixel_ops::resize(in.data(), 4, 4, 3, 0.5, 0, 0.5, 1, out.data(), 4, 4, 12));
  EXPECT_FALSE(pixel_ops::resize(in.data(), 4, 4, 5, 0, 0, 1, 1, out.data(), 4, 4, 12));
}

}  // namespace
}  // namespace image_gateway
