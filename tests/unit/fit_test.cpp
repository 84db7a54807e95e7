// fit_image and prepare_upload (issue 12): real pixels through decode, scale, place or crop and
// encode, read back with a separate decoder; the caps, the bomb and the JPEG quality search.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <vector>

#include "image/pixel_ops.hpp"
#include "image_gateway/image/fit.hpp"
#include "image_gateway/util/sample_images.hpp"
#include "support/png16.hpp"
#include "support/png_bytes.hpp"

namespace image_gateway {
namespace {

const image_rule big{984, 369, 1048576};
const image_rule small{144, 144, 51200};

std::shared_ptr<const std::string> shared(std::string bytes) {
  return std::make_shared<const std::string>(std::move(bytes));
}

result<fitted_image> fit(const std::string& bytes, const image_rule& rule, fit_mode mode,
                         rgb background = white, fit_limits limits = {}) {
  return fit_image(shared(bytes), rule, fit_options{mode, background}, limits, "big_picture_url");
}

samples::rgba_image decoded(const fitted_image& image) {
  auto pixels = samples::decode_rgba(std::string(image.bytes.view()));
  EXPECT_TRUE(pixels.has_value());
  return pixels.value_or(samples::rgba_image{});
}

bool row_is(const samples::rgba_image& image, int y, rgb colour, unsigned char alpha = 255) {
  for (int x = 0; x < image.width; ++x) {
    const unsigned char* p = image.at(x, y);
    if (p[0] != colour.r || p[1] != colour.g || p[2] != colour.b || p[3] != alpha) return false;
  }
  return true;
}

TEST(FitImage, ContainTwiceTheSizePngGivesTheTargetSize) {
  auto fitted = fit(samples::png(1968, 738, 1), big, fit_mode::contain);
  ASSERT_TRUE(fitted) << fitted.error().detail;
  EXPECT_TRUE(fitted.value().fitted);
  EXPECT_EQ(fitted.value().format, image_format::png);
  EXPECT_EQ(fitted.value().width, 984);
  EXPECT_EQ(fitted.value().height, 369);
  const auto image = decoded(fitted.value());
  EXPECT_EQ(image.width, 984);
  EXPECT_EQ(image.height, 369);
  EXPECT_LE(fitted.value().bytes.size(), big.max_bytes);
}

TEST(FitImage, ContainPutsBackgroundRowsTopAndBottomAndNowhereElse) {
  const rgb red{255, 0, 0};
  auto fitted = fit(samples::png(1000, 200, 2), big, fit_mode::contain, red);
  ASSERT_TRUE(fitted) << fitted.error().detail;
  const auto image = decoded(fitted.value());
  ASSERT_EQ(image.height, 369);
  // plan: 984x197 at y 86: rows 0..85 and 283..368 are background, 86 and 282 are the picture.
  for (int y = 0; y < 86; ++y) EXPECT_TRUE(row_is(image, y, red)) << "row " << y;
  for (int y = 283; y < 369; ++y) EXPECT_TRUE(row_is(image, y, red)) << "row " << y;
  EXPECT_FALSE(row_is(image, 86, red));
  EXPECT_FALSE(row_is(image, 282, red));
  EXPECT_FALSE(row_is(image, 184, red));
}

TEST(FitImage, TransparentPngKeepsTransparentBars) {
  auto fitted = fit(samples::png_rgba(1000, 200, 128, 3), big, fit_mode::contain);
  ASSERT_TRUE(fitted) << fitted.error().detail;
  EXPECT_EQ(fitted.value().format, image_format::png);
  const auto image = decoded(fitted.value());
  EXPECT_EQ(image.at(0, 0)[3], 0);             // bar: transparent
  EXPECT_EQ(image.at(500, 368)[3], 0);         // bottom bar
  EXPECT_NEAR(image.at(500, 184)[3], 128, 2);  // the picture keeps its alpha
}

TEST(FitImage, OpaquePngStaysOpaqueRgb) {
  auto fitted = fit(samples::png_rgba(200, 1000, 255, 4), big, fit_mode::contain);
  ASSERT_TRUE(fitted) << fitted.error().detail;
  const auto image = decoded(fitted.value());
  EXPECT_EQ(image.at(0, 0)[3], 255);
  EXPECT_TRUE(row_is(image, 0, white) == false);  // row 0 crosses the picture in the middle
  EXPECT_EQ(image.at(0, 0)[0], 255);              // left bar white
  EXPECT_EQ(image.at(983, 368)[0], 255);          // right bar white
}

TEST(FitImage, CoverLargeJpegIconFitsTheByteLimit) {
  auto fitted = fit(samples::jpeg(2000, 2000, 5), small, fit_mode::cover);
  ASSERT_TRUE(fitted) << fitted.error().detail;
  EXPECT_TRUE(fitted.value().fitted);
  EXPECT_EQ(fitted.value().format, image_format::jpeg);
  EXPECT_LE(fitted.value().bytes.size(), small.max_bytes);
  EXPECT_GE(fitted.value().jpeg_quality, 1);
  const auto image = decoded(fitted.value());
  EXPECT_EQ(image.width, 144);
  EXPECT_EQ(image.height, 144);
}

TEST(FitImage, CoverCropsTheMiddle) {
  // A wide source, left half black and right half white would need a custom image; the gradient
  // runs from dark (left) to bright (right) in red: after a cover of 1000x200 into 984x369 the
  // visible window is the middle 984/1845 of the width, so the left edge is far from black.
  auto fitted = fit(samples::png(1000, 200, 0), big, fit_mode::cover);
  ASSERT_TRUE(fitted) << fitted.error().detail;
  const auto image = decoded(fitted.value());
  ASSERT_EQ(image.width, 984);
  // Red at the source's x is x * 255 / 999; the window starts at 430/1845 of the width (~233).
  EXPECT_NEAR(image.at(0, 184)[0], 233 * 255 / 999, 6);
  EXPECT_NEAR(image.at(983, 184)[0], (233 + 533) * 255 / 999, 6);
}

TEST(FitImage, ExactSizeWithinTheLimitPassesByteForByte) {
  const auto source = shared(samples::png(984, 369, 6));
  auto fitted = fit_image(source, big, {fit_mode::contain, white}, {}, "big_picture_url");
  ASSERT_TRUE(fitted);
  EXPECT_FALSE(fitted.value().fitted);
  EXPECT_EQ(fitted.value().bytes, source);  // the very same bytes
}

TEST(FitImage, ExactSizeOverTheByteLimitIsReencoded) {
  const std::string padded = samples::pad_png(samples::png(144, 144, 7), small.max_bytes + 1);
  auto fitted = fit(padded, small, fit_mode::cover);
  ASSERT_TRUE(fitted) << fitted.error().detail;
  EXPECT_TRUE(fitted.value().fitted);
  EXPECT_LE(fitted.value().bytes.size(), small.max_bytes);
  EXPECT_EQ(decoded(fitted.value()).width, 144);
}

TEST(FitImage, PngTooLargeFallsBackToJpeg) {
  // Noise does not compress: 984x369 of it is ~1.09 MB as PNG, over OPPO's 1 MiB, so the exact
  // size source over the limit is re-encoded, and as PNG it would still not fit.
  const std::string noise = samples::noise_png(984, 369, 8);
  ASSERT_GT(noise.size(), big.max_bytes);
  auto fitted = fit(noise, big, fit_mode::contain);
  ASSERT_TRUE(fitted) << fitted.error().detail;
  EXPECT_TRUE(fitted.value().fitted);
  EXPECT_EQ(fitted.value().format, image_format::jpeg);
  EXPECT_LE(fitted.value().bytes.size(), big.max_bytes);
  EXPECT_GE(fitted.value().jpeg_quality, 90);  // noise at 984x369 fits 1 MiB at a high quality
  EXPECT_EQ(decoded(fitted.value()).height, 369);
}

TEST(FitImage, TransparentPngFallsBackToJpegOnTheBackground) {
  // Half-transparent, with transparent bars; as PNG over a tight limit, so it becomes a JPEG
  // flattened on the background.
  const image_rule tight{984, 369, 20000};  // ~25 KB as PNG
  auto fitted =
      fit(samples::png_rgba(1000, 200, 128, 14), tight, fit_mode::contain, rgb{0, 0, 255});
  ASSERT_TRUE(fitted) << fitted.error().detail;
  ASSERT_EQ(fitted.value().format, image_format::jpeg);
  EXPECT_LE(fitted.value().bytes.size(), tight.max_bytes);
  const auto image = decoded(fitted.value());
  const unsigned char* bar = image.at(500, 20);  // a transparent bar: the background itself
  EXPECT_NEAR(bar[0], 0, 10);
  EXPECT_NEAR(bar[1], 0, 10);
  EXPECT_NEAR(bar[2], 255, 10);
  const unsigned char* picture = image.at(500, 184);  // half the picture, half blue
  EXPECT_GT(picture[2], 120);
  EXPECT_LT(picture[2], 250);
}

TEST(FitImage, NothingFitsIs51) {
  const image_rule tiny{984, 369, 300};
  auto fitted = fit(samples::noise_png(500, 500, 9), tiny, fit_mode::contain);
  ASSERT_FALSE(fitted);
  EXPECT_EQ(fitted.error().kind, error_kind::image_too_large);
  EXPECT_EQ(fitted.error().detail,
            "big_picture_url: fitted to 984x369 px, the image does not fit in 300 bytes even as "
            "a JPEG at quality 1");
}

TEST(FitImage, CapsHoldOnTheHeader) {
  fit_limits limits;
  limits.max_source_bytes = 1000;
  auto too_many_bytes = fit(samples::noise_png(100, 100), big, fit_mode::contain, white, limits);
  ASSERT_FALSE(too_many_bytes);
  EXPECT_EQ(too_many_bytes.error().kind, error_kind::image_too_large);
  EXPECT_TRUE(too_many_bytes.error().detail.ends_with("bytes, a fit accepts at most 1000"))
      << too_many_bytes.error().detail;

  limits = {};
  limits.max_source_pixels = 9999;
  auto too_many_pixels = fit(samples::png(100, 100), big, fit_mode::contain, white, limits);
  ASSERT_FALSE(too_many_pixels);
  EXPECT_EQ(too_many_pixels.error().kind, error_kind::image_bad_size);
  EXPECT_EQ(too_many_pixels.error().detail,
            "big_picture_url: image is 100x100 px (10000 pixels), a fit accepts at most 9999 "
            "pixels");

  auto not_an_image = fit("GIF89a....", big, fit_mode::cover);
  ASSERT_FALSE(not_an_image);
  EXPECT_EQ(not_an_image.error().kind, error_kind::image_bad_format);
}

TEST(FitImage, HugeDeclaredSizeIsRefusedBeforeDecoding) {
  // 16384x16384 declared, a few hundred bytes of data: over the default pixel cap on the header.
  auto bomb = fit(samples::png_bomb(16384, 16384, 1000), big, fit_mode::contain);
  ASSERT_FALSE(bomb);
  EXPECT_EQ(bomb.error().kind, error_kind::image_bad_size);
  EXPECT_EQ(bomb.error().detail,
            "big_picture_url: image is 16384x16384 px (268435456 pixels), a fit accepts at most "
            "16777216 pixels");
  // Beyond what stb reads at all: worded from the declared size too.
  auto beyond = fit(samples::png_bomb(20000, 10, 1000), big, fit_mode::contain);
  ASSERT_FALSE(beyond);
  EXPECT_EQ(beyond.error().kind, error_kind::image_bad_size);
}

TEST(FitImage, DecompressionBombFailsCleanlyOnTheBudget) {
  // A 64x64 header whose data inflates to 24 MB: more than the budget for 64x64 allows.
  auto bomb = fit(samples::png_bomb(64, 64, 24 * 1024 * 1024), big, fit_mode::contain);
  ASSERT_FALSE(bomb);
  EXPECT_EQ(bomb.error().kind, error_kind::image_undecodable);
  EXPECT_NE(bomb.error().detail.find("bytes of memory"), std::string::npos) << bomb.error().detail;
}

TEST(FitImage, BudgetGrowsWithTheHeaderAndSaturates) {
  constexpr std::size_t state = 8u * 1024 * 1024;
  // PNG: 28 bytes a header pixel and twice the file, whatever the decoded size.
  EXPECT_EQ(fit_decode_budget(image_format::png, 1000, 1000, 100, 1, 1), 28000000u + 200u + state);
  // JPEG: 4 bytes a decoded pixel, 8 a source pixel (a progressive file's coefficients).
  EXPECT_EQ(fit_decode_budget(image_format::jpeg, 1000, 1000, 100, 125, 125),
            62500u + 8000000u + state);
  EXPECT_EQ(fit_decode_budget(image_format::jpeg, 1000, 1000, 100, 1000, 1000),
            4000000u + 8000000u + state);
  EXPECT_EQ(fit_decode_budget(image_format::png, 0, 0, 0, 0, 0), state);
  EXPECT_EQ(fit_decode_budget(image_format::png, 1 << 30, 1 << 30, SIZE_MAX, 1, 1), SIZE_MAX);
  EXPECT_EQ(fit_decode_budget(image_format::jpeg, 1 << 30, 1 << 30, 0, 1LL << 40, 1LL << 40),
            SIZE_MAX);
}

// The square source contained in 984x369: a 369x369 picture at x = 307, transparent bars.
void expect_quadrants(const fitted_image& fitted) {
  EXPECT_TRUE(fitted.fitted);
  ASSERT_EQ(fitted.format, image_format::png);
  const samples::rgba_image image = decoded(fitted);
  ASSERT_EQ(image.width, 984);
  ASSERT_EQ(image.height, 369);
  const auto expect_pixel = [&](int x, int y, std::vector<int> wanted) {
    const unsigned char* p = image.at(x, y);
    for (std::size_t c = 0; c < 4; ++c) {
      EXPECT_NEAR(p[c], wanted[c], 2) << "at " << x << "," << y << " channel " << c;
    }
  };
  expect_pixel(307 + 90, 90, {255, 0, 0, 255});    // top left: red
  expect_pixel(307 + 280, 90, {0, 0, 255, 128});   // top right: half-transparent blue
  expect_pixel(307 + 180, 280, {0, 255, 0, 255});  // bottom: green
  EXPECT_EQ(image.at(100, 180)[3], 0);             // left bar
  EXPECT_EQ(image.at(900, 180)[3], 0);             // right bar
}

// Issue 16: a 2000x2000 16-bit interlaced RGBA PNG (its inflated data, the 16-bit image and its
// largest pass are 112 MB at once in stb) was refused at 24 bytes a pixel of budget.
TEST(FitImage, SixteenBitInterlacedRgbaPngIsFitted) {
  for (const bool interlaced : {true, false}) {
    const std::string source = png16::quadrants(2000, 2000, interlaced);
    auto fitted = fit(source, big, fit_mode::contain);
    ASSERT_TRUE(fitted) << "interlaced " << interlaced << ": " << fitted.error().detail;
    expect_quadrants(fitted.value());
  }
}

// The worst PNG the source caps let in: 16,777,216 pixels, 16-bit, interlaced, RGBA.
TEST(FitImage, LargestSixteenBitInterlacedRgbaPngIsFitted) {
  const std::string source = png16::quadrants(4096, 4096, true);
  ASSERT_LE(source.size(), fit_limits{}.max_source_bytes);
  auto fitted = fit(source, big, fit_mode::contain);
  ASSERT_TRUE(fitted) << fitted.error().detail;
  expect_quadrants(fitted.value());
}

// The budget that admits those still refuses a 16-bit interlaced RGBA header whose data
// inflates to more than its pixels need.
TEST(FitImage, SixteenBitInterlacedHeaderThatLiesIsRefused) {
  using namespace png_bytes;
  const std::string ihdr = be32(64) + be32(64) + std::string("\x10\x06\x00\x00\x01", 5);
  const std::string bomb = signature + chunk("IHDR", ihdr) +
                           chunk("IDAT", zlib_bomb(24 * 1024 * 1024 / 258)) + chunk("IEND", "");
  auto fitted = fit(bomb, big, fit_mode::contain);
  ASSERT_FALSE(fitted);
  EXPECT_EQ(fitted.error().kind, error_kind::image_undecodable);
  EXPECT_EQ(fitted.error().detail,
            "big_picture_url: image does not decode (it needs more than " +
                std::to_string(fit_decode_budget(image_format::png, 64, 64, bomb.size(), 64, 64)) +
                " bytes of memory)");
}

// A JPEG header that claims 4000x3000 over the data of 64x64 fails cleanly at every scale the
// fit may pick (1/8, 3/8, full), never making up the missing pixels.
TEST(FitImage, JpegWhoseHeaderLiesFailsCleanlyAtEveryScale) {
  std::string lying = samples::jpeg(64, 64, 3);
  // The SOF0 segment: FF C0, length, precision, then height and width.
  const std::size_t sof = lying.find("\xFF\xC0");
  ASSERT_NE(sof, std::string::npos);
  lying.replace(sof + 5, 4, std::string("\x0B\xB8\x0F\xA0", 4));  // 3000 high, 4000 wide
  const struct {
    image_rule rule;
    fit_mode mode;
    bool shrink;
  } cases[] = {
      {small, fit_mode::cover, true},                    // 1/8
      {{1500, 1125, 1048576}, fit_mode::contain, true},  // 3/8
      {big, fit_mode::contain, false},                   // every pixel
  };
  for (const auto& c : cases) {
    auto fitted = fit_image(shared(lying), c.rule, fit_options{c.mode, white, c.shrink}, {},
                            "big_picture_url");
    ASSERT_FALSE(fitted);
    EXPECT_EQ(fitted.error().kind, error_kind::image_undecodable);
    EXPECT_TRUE(fitted.error().detail.starts_with("big_picture_url: image does not decode ("))
        << fitted.error().detail;
  }
}

// Shrink-on-load gives the picture the full decode gives: PSNR of the uploaded picture against
// the one from decoding and filtering every pixel (the path before issue 18), on photo-like,
// sharp-edged (a test card, as PNG and as JPEG) and half-transparent sources, at DCT scales and
// box factors the fit picks. 40 dB is the floor (no difference anyone sees). fit_bench prints
// the same comparison for its 12 MP and 2 MP sources.
TEST(ShrinkOnLoad, SameQualityAsTheFullDecode) {
  const std::string photo_jpeg = samples::photo_jpeg(2000, 1500, 1);
  const std::string photo_png = samples::photo_png(1200, 900, 2);
  const std::string card = samples::test_card_png(1600, 1200);
  const samples::rgba_image card_pixels = samples::decode_rgba(card).value();
  std::vector<unsigned char> card_rgb;
  for (std::size_t i = 0; i < card_pixels.pixels.size(); i += 4) {
    card_rgb.insert(card_rgb.end(), card_pixels.pixels.begin() + static_cast<long>(i),
                    card_pixels.pixels.begin() + static_cast<long>(i) + 3);
  }
  const std::string card_jpeg = samples::encode_jpeg_rgb(card_rgb.data(), 1600, 1200, 90);
  const std::string see_through = samples::png_rgba(1600, 1000, 128, 4);
  const struct {
    const char* name;
    const std::string* source;
    image_rule rule;
    fit_mode mode;
  } cases[] = {
      {"photo JPEG 2000x1500 contain -> 984x369 (DCT 4/8)", &photo_jpeg, big, fit_mode::contain},
      {"photo JPEG 2000x1500 cover -> 144x144 (DCT 2/8)", &photo_jpeg, small, fit_mode::cover},
      {"photo PNG 1200x900 cover -> 144x144 (box 3)", &photo_png, small, fit_mode::cover},
      {"photo PNG 1200x900 contain -> 144x144 (box 4)", &photo_png, small, fit_mode::contain},
      {"test card PNG 1600x1200 cover -> 144x144 (box 4)", &card, small, fit_mode::cover},
      {"test card JPEG 1600x1200 cover -> 144x144 (DCT 2/8)", &card_jpeg, small, fit_mode::cover},
      {"half-transparent PNG 1600x1000 contain -> 144x144 (box 5)", &see_through, small,
       fit_mode::contain},
  };
  for (const auto& c : cases) {
    auto shrunk = fit_image(shared(*c.source), c.rule, fit_options{c.mode, white, true}, {},
                            "big_picture_url");
    auto full = fit_image(shared(*c.source), c.rule, fit_options{c.mode, white, false}, {},
                          "big_picture_url");
    ASSERT_TRUE(shrunk && full) << c.name;
    const double db = samples::psnr(decoded(full.value()), decoded(shrunk.value()));
    std::printf("%s: %.1f dB\n", c.name, db);
    EXPECT_GE(db, 40.0) << c.name;
    EXPECT_TRUE(std::isfinite(db)) << c.name << ": the same pixels both ways, so nothing shrank";
  }
}

// The box reduction: means in linear light, weighted by alpha, partial boxes at the edges, in
// place.
TEST(ShrinkOnLoad, BoxReductionAveragesInLinearLightWeightedByAlpha) {
  // 3x2 RGBA, k = 2: the left box holds opaque red, a transparent (black) pixel, opaque black
  // and opaque white; the right (partial) box one opaque pixel and one half-transparent one.
  std::vector<unsigned char> pixels = {
      255, 0, 0, 255, 0,   0,   0,   0,   10, 20, 30, 255,  //
      0,   0, 0, 255, 255, 255, 255, 255, 10, 20, 30, 128,
  };
  EXPECT_TRUE(pixel_ops::box_reduce(pixels.data(), 3, 2, 4, 2));
  // Left: the transparent pixel's colour counts for nothing. Red is 1 + 0 + 1 (white) over 3
  // opaque pixels, 2/3 linear = sRGB 213 (straight sRGB means would give 170), green and blue
  // 1/3 linear = 156 (not 85); alpha 765 / 4 = 191.
  EXPECT_EQ(std::vector<int>(pixels.begin(), pixels.begin() + 4),
            (std::vector<int>{213, 156, 156, 191}));
  // Right: one colour at two alphas stays that colour; alpha (255 + 128) / 2 rounded.
  EXPECT_EQ(std::vector<int>(pixels.begin() + 4, pixels.begin() + 8),
            (std::vector<int>{10, 20, 30, 192}));

  // Opaque RGB: every code value survives a box of itself (the tables round trip), and the
  // answer says nothing is transparent.
  std::vector<unsigned char> grey(4 * 4 * 3);
  for (int code = 0; code < 256; ++code) {
    std::fill(grey.begin(), grey.end(), static_cast<unsigned char>(code));
    EXPECT_FALSE(pixel_ops::box_reduce(grey.data(), 4, 4, 3, 4));
    EXPECT_EQ(grey[0], code);
  }
}

TEST(PrepareUpload, NoneChecksAsBefore) {
  const auto source = shared(samples::png(984, 369, 10));
  auto same = prepare_upload(source, big, {}, {}, true, "big_picture_url");
  ASSERT_TRUE(same);
  EXPECT_EQ(same.value().bytes, source);
  EXPECT_FALSE(same.value().fitted);
  auto wrong =
      prepare_upload(shared(samples::png(1968, 738)), big, {}, {}, true, "big_picture_url");
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().kind, error_kind::image_bad_size);
}

TEST(PrepareUpload, UntouchedSourceIsStillVerified) {
  // Exact size, a valid header, but the pixel data cut off: fit passes it through, verify
  // refuses it.
  std::string cut = samples::png(984, 369, 11);
  cut.resize(cut.size() / 2);
  auto prepared =
      prepare_upload(shared(cut), big, {fit_mode::contain, white}, {}, true, "big_picture_url");
  ASSERT_FALSE(prepared);
  EXPECT_EQ(prepared.error().kind, error_kind::image_undecodable);
  auto unverified =
      prepare_upload(shared(cut), big, {fit_mode::contain, white}, {}, false, "big_picture_url");
  EXPECT_TRUE(unverified);
}

TEST(JpegQualitySearch, PicksTheLargestQualityThatFits) {
  int calls = 0;
  const auto size_is_quality_times_1000 = [&](int quality) {
    ++calls;
    return std::string(static_cast<std::size_t>(quality) * 1000, 'x');
  };
  auto chosen = highest_fitting_quality(1, 100, 57500, size_is_quality_times_1000);
  ASSERT_TRUE(chosen);
  EXPECT_EQ(chosen->quality, 57);
  EXPECT_EQ(chosen->bytes.size(), 57000u);
  EXPECT_LE(calls, 8);  // the top, then a binary search over 99

  calls = 0;
  chosen = highest_fitting_quality(1, 100, 100000, size_is_quality_times_1000);
  ASSERT_TRUE(chosen);
  EXPECT_EQ(chosen->quality, 100);
  EXPECT_EQ(calls, 1);  // the top fits: nothing else encoded

  for (std::size_t limit : {1000u, 1999u, 99999u}) {
    chosen = highest_fitting_quality(1, 100, limit, size_is_quality_times_1000);
    ASSERT_TRUE(chosen);
    EXPECT_EQ(chosen->quality, static_cast<int>(limit / 1000)) << limit;
  }
  EXPECT_FALSE(highest_fitting_quality(1, 100, 999, size_is_quality_times_1000));
  // An encoder failure (empty) never counts as fitting.
  EXPECT_FALSE(highest_fitting_quality(1, 100, 999999, [](int) { return std::string(); }));
}

TEST(JpegQualitySearch, RealEncoderFindsTheBoundary) {
  // The noise image's JPEG at the chosen quality fits, and one quality higher would not.
  const image_rule limit{984, 369, 200000};
  auto fitted = fit(samples::noise_png(985, 370, 13), limit, fit_mode::contain);
  ASSERT_TRUE(fitted) << fitted.error().detail;
  ASSERT_EQ(fitted.value().format, image_format::jpeg);
  const int quality = fitted.value().jpeg_quality;
  ASSERT_GT(quality, 1);
  ASSERT_LT(quality, 100);
  EXPECT_LE(fitted.value().bytes.size(), limit.max_bytes);
}

}  // namespace
}  // namespace image_gateway
