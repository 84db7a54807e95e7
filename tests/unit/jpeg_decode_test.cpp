// The JPEG decoder (libjpeg-turbo behind pixel_decode): budgets, colour spaces, and which damage
// fails a decode. Test pictures are encoded here with libjpeg so their layout is exactly known.
#include <gtest/gtest.h>

#include <csetjmp>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "image/pixel_decode.hpp"
#include "image_gateway/image/image_check.hpp"
#include "image_gateway/util/sample_images.hpp"

#include <jpeglib.h>

namespace image_gateway {
namespace {

std::span<const unsigned char> bytes_of(const std::string& text) {
  return {reinterpret_cast<const unsigned char*>(text.data()), text.size()};
}

struct encoding {
  J_COLOR_SPACE space = JCS_RGB;
  int components = 3;
  bool progressive = false;
};

// Every pixel `pixel` (one value per component); quality 95. Errors abort the test binary: the
// inputs are fixed and valid.
std::string encode(int width, int height, const std::vector<unsigned char>& pixel,
                   const encoding& how) {
  jpeg_compress_struct info{};
  jpeg_error_mgr errors{};
  info.err = jpeg_std_error(&errors);
  jpeg_create_compress(&info);
  unsigned char* buffer = nullptr;
  unsigned long size = 0;
  jpeg_mem_dest(&info, &buffer, &size);
  info.image_width = static_cast<JDIMENSION>(width);
  info.image_height = static_cast<JDIMENSION>(height);
  info.input_components = how.components;
  info.in_color_space = how.space;
  jpeg_set_defaults(&info);
  jpeg_set_quality(&info, 95, TRUE);
  if (how.progressive) jpeg_simple_progression(&info);
  jpeg_start_compress(&info, TRUE);
  std::vector<unsigned char> row;
  for (int x = 0; x < width; ++x) row.insert(row.end(), pixel.begin(), pixel.end());
  while (info.next_scanline < info.image_height) {
    JSAMPROW rows[1] = {row.data()};
    jpeg_write_scanlines(&info, rows, 1);
  }
  jpeg_finish_compress(&info);
  jpeg_destroy_compress(&info);
  std::string out(reinterpret_cast<const char*>(buffer), size);
  std::free(buffer);
  return out;
}

void expect_near(const unsigned char* pixel, std::vector<int> wanted) {
  for (std::size_t i = 0; i < wanted.size(); ++i) {
    EXPECT_NEAR(pixel[i], wanted[i], 3) << "component " << i;
  }
}

constexpr std::size_t roomy = 64 * 1024 * 1024;

// A progressive (or non-interleaved) file needs all its coefficients in memory before the first
// row comes out: 984x369 at 4:2:0 is 1,142,784 bytes of them beside 1,089,288 of pixels.
TEST(JpegDecode, ProgressiveCoefficientsCountAgainstTheBudget) {
  const std::vector<unsigned char> grey{90, 120, 150};
  const std::string baseline = encode(984, 369, grey, {});
  const std::string progressive = encode(984, 369, grey, {JCS_RGB, 3, true});
  constexpr std::size_t budget = 1500 * 1000;

  EXPECT_FALSE(verify_decode(bytes_of(baseline), "big_picture_url", budget).has_value());
  const auto problem = verify_decode(bytes_of(progressive), "big_picture_url", budget);
  ASSERT_TRUE(problem.has_value());
  EXPECT_EQ(problem->kind, error_kind::image_undecodable);
  EXPECT_EQ(problem->detail,
            "big_picture_url: image does not decode (it needs more than 1500000 bytes of memory)");
  EXPECT_FALSE(verify_decode(bytes_of(progressive), "big_picture_url").has_value());
}

// Shrink-on-load: the smallest DCT scale M/8 that leaves at least the pixels asked for, each
// side ceil(side * M / 8); the colour survives the scaling.
TEST(JpegDecode, ShrinkOnLoadPicksTheSmallestScaleThatLeavesEnough) {
  const std::string jpeg = encode(4000, 3000, {90, 120, 150}, {});
  const struct {
    pixel_decode::shrink_on_load shrink;
    int eighths;
    int width;
    int height;
  } cases[] = {
      {{492, 369}, 1, 500, 375},      // contain to 984x369: 1/8 still covers 492x369
      {{501, 369}, 2, 1000, 750},     // one column more than 1/8 gives: 2/8
      {{1500, 1125}, 3, 1500, 1125},  // exactly 3/8
      {{3999, 2999}, 8, 4000, 3000},  // nothing smaller leaves enough: full size
      {{0, 0}, 8, 4000, 3000},        // no shrink asked
  };
  for (const auto& c : cases) {
    const auto decoded =
        pixel_decode::decode_pixels(bytes_of(jpeg), 3, 256 * 1024 * 1024, c.shrink);
    ASSERT_TRUE(decoded.pixels) << decoded.why;
    EXPECT_EQ(decoded.scale_eighths, c.eighths);
    EXPECT_EQ(decoded.width, c.width);
    EXPECT_EQ(decoded.height, c.height);
    expect_near(decoded.pixels.get() + (static_cast<std::size_t>(decoded.height / 2) *
                                            static_cast<std::size_t>(decoded.width) +
                                        static_cast<std::size_t>(decoded.width / 2)) *
                                           3,
                {90, 120, 150});
  }
}

// The budget holds at every scale: checked on the output at the chosen scale plus, for a
// progressive file, the coefficients of the whole image (kept at every scale).
TEST(JpegDecode, ScaledDecodeIsBudgetedAtItsScale) {
  const std::string baseline = encode(2000, 1600, {90, 120, 150}, {});
  const std::string progressive = encode(2000, 1600, {90, 120, 150}, {JCS_RGB, 3, true});
  const pixel_decode::shrink_on_load eighth{250, 200};  // 1/8: 250x200x3 = 150,000 bytes
  // Enough for 1/8 of the baseline file, far from its 9.6 MB full size.
  constexpr std::size_t small = 1000 * 1000;
  EXPECT_TRUE(pixel_decode::decode_pixels(bytes_of(baseline), 3, small, eighth).pixels);
  const auto full = pixel_decode::decode_pixels(bytes_of(baseline), 3, small);
  EXPECT_FALSE(full.pixels);
  EXPECT_TRUE(full.over_budget);
  // The progressive file keeps 9.6 MB of coefficients (4:2:0: 3 bytes a pixel) whatever the
  // scale.
  const auto scaled = pixel_decode::decode_pixels(bytes_of(progressive), 3, small, eighth);
  EXPECT_FALSE(scaled.pixels);
  EXPECT_TRUE(scaled.over_budget);
  EXPECT_TRUE(
      pixel_decode::decode_pixels(bytes_of(progressive), 3, 10 * 1000 * 1000, eighth).pixels);
  // And at 1/8 the output alone can still be over a tiny budget.
  const auto tiny = pixel_decode::decode_pixels(bytes_of(baseline), 3, 100 * 1000, eighth);
  EXPECT_FALSE(tiny.pixels);
  EXPECT_TRUE(tiny.over_budget);
}

// Adobe CMYK (stored inverted: 255 is no ink) comes out as RGB for the fit, the way stb
// converted it: each colour times K over 255.
TEST(JpegDecode, CmykBecomesRgb) {
  const std::string cmyk = encode(64, 48, {200, 100, 50, 128}, {JCS_CMYK, 4, false});
  ASSERT_TRUE(inspect_image(bytes_of(cmyk), image_rule{64, 48, 1 << 20}, "f").ok());
  for (int channels : {3, 4}) {
    auto decoded = pixel_decode::decode_pixels(bytes_of(cmyk), channels, roomy);
    ASSERT_TRUE(decoded.pixels) << decoded.why;
    EXPECT_EQ(decoded.channels, channels);
    EXPECT_EQ(decoded.width, 64);
    EXPECT_EQ(decoded.height, 48);
    const unsigned char* middle = decoded.pixels.get() + (24 * 64 + 32) * channels;
    expect_near(middle, {100, 50, 25});
    if (channels == 4) {
      EXPECT_EQ(middle[3], 255);
    }
  }
  EXPECT_FALSE(verify_decode(bytes_of(cmyk), "f").has_value());
}

TEST(JpegDecode, GreyBecomesRgbOrRgba) {
  const std::string grey = encode(40, 30, {77}, {JCS_GRAYSCALE, 1, false});
  auto own = pixel_decode::decode_pixels(bytes_of(grey), 0, roomy);
  ASSERT_TRUE(own.pixels) << own.why;
  EXPECT_EQ(own.channels, 1);
  for (int channels : {3, 4}) {
    auto decoded = pixel_decode::decode_pixels(bytes_of(grey), channels, roomy);
    ASSERT_TRUE(decoded.pixels) << decoded.why;
    EXPECT_EQ(decoded.channels, channels);
    expect_near(decoded.pixels.get() + (15 * 40 + 20) * channels, {77, 77, 77});
    if (channels == 4) {
      EXPECT_EQ(decoded.pixels.get()[3], 255);
    }
  }
}

std::size_t scan_start(const std::string& jpeg) {
  const std::size_t sos = jpeg.find("\xff\xda");
  EXPECT_NE(sos, std::string::npos);
  return sos + 2 +
         ((static_cast<unsigned char>(jpeg[sos + 2]) << 8) |
          static_cast<unsigned char>(jpeg[sos + 3]));
}

// Damage that costs pixels fails the decode, with libjpeg's words: entropy-coded data cut short
// by a marker, or by the end of the file (libjpeg then stands in an end marker). stb 2.27
// shifted by more than 31 bits on such data: the fuzz_fit finding that moved JPEGs to
// libjpeg-turbo.
TEST(JpegDecode, DataCutShortIsRefused) {
  const std::string jpeg = samples::jpeg(144, 144, 3);
  const std::size_t data = scan_start(jpeg);
  const std::string cut_by_marker = jpeg.substr(0, data + (jpeg.size() - data) / 3) + "\xff\xd9";
  auto problem = verify_decode(bytes_of(cut_by_marker), "small_picture_url");
  ASSERT_TRUE(problem.has_value());
  EXPECT_EQ(problem->detail,
            "small_picture_url: image does not decode (Corrupt JPEG data: premature end of data "
            "segment)");

  const std::string cut = jpeg.substr(0, data + (jpeg.size() - data) / 3);
  problem = verify_decode(bytes_of(cut), "small_picture_url");
  ASSERT_TRUE(problem.has_value());
  EXPECT_EQ(problem->detail,
            "small_picture_url: image does not decode (Corrupt JPEG data: premature end of data "
            "segment)");
}

// Damage that costs no pixel is tolerated, as viewers tolerate it: a missing end marker after
// complete data, junk bytes between segments.
TEST(JpegDecode, HarmlessOdditiesDecode) {
  const std::string jpeg = samples::jpeg(144, 144, 3);
  ASSERT_EQ(jpeg.substr(jpeg.size() - 2), "\xff\xd9");
  const std::string no_end = jpeg.substr(0, jpeg.size() - 2);
  EXPECT_FALSE(verify_decode(bytes_of(no_end), "small_picture_url").has_value());
  EXPECT_TRUE(pixel_decode::decode_pixels(bytes_of(no_end), 3, roomy).pixels);

  const std::size_t dqt = jpeg.find("\xff\xdb");
  ASSERT_NE(dqt, std::string::npos);
  const std::string junk = jpeg.substr(0, dqt) + std::string("\x01\x02\x03", 3) + jpeg.substr(dqt);
  ASSERT_TRUE(inspect_image(bytes_of(junk), image_rule{144, 144, 1 << 20}, "f").ok());
  EXPECT_FALSE(verify_decode(bytes_of(junk), "small_picture_url").has_value());
}

TEST(JpegDecode, PixelsMatchAcrossChannelLayouts) {
  const std::string jpeg = encode(32, 16, {10, 200, 60}, {});
  auto rgb = pixel_decode::decode_pixels(bytes_of(jpeg), 3, roomy);
  auto rgba = pixel_decode::decode_pixels(bytes_of(jpeg), 4, roomy);
  ASSERT_TRUE(rgb.pixels && rgba.pixels);
  expect_near(rgb.pixels.get() + (8 * 32 + 16) * 3, {10, 200, 60});
  expect_near(rgba.pixels.get() + (8 * 32 + 16) * 4, {10, 200, 60, 255});
}

}  // namespace
}  // namespace image_gateway
