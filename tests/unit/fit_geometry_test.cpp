// plan_fit (issue 12): where contain puts the scaled source and what cover crops, in exact
// pixels, for wide, tall, tiny and huge sources; the fit and colour vocabulary.
#include <gtest/gtest.h>

#include <random>

#include "image_gateway/image/fit_geometry.hpp"
#include "image_gateway/image/fit_types.hpp"

namespace image_gateway {
namespace {

void expect_plan(const fit_plan& plan, long long width, long long height, long long x,
                 long long y) {
  EXPECT_EQ(plan.scaled_width, width);
  EXPECT_EQ(plan.scaled_height, height);
  EXPECT_EQ(plan.x, x);
  EXPECT_EQ(plan.y, y);
}

TEST(FitGeometryContain, TwiceTheSizeFillsTheTarget) {
  expect_plan(plan_fit(1968, 738, 984, 369, fit_mode::contain), 984, 369, 0, 0);
}

TEST(FitGeometryContain, WideSourceGetsEqualBarsTopAndBottom) {
  // 200 * 984 / 1000 = 196.8 -> 197 rows; 172 free rows, 86 above and 86 below.
  const fit_plan plan = plan_fit(1000, 200, 984, 369, fit_mode::contain);
  expect_plan(plan, 984, 197, 0, 86);
  EXPECT_EQ(369 - plan.y - plan.scaled_height, 86);
}

TEST(FitGeometryContain, TallSourceGetsEqualBarsLeftAndRight) {
  // 200 * 369 / 1000 = 73.8 -> 74 columns; 910 free, 455 each side.
  const fit_plan plan = plan_fit(200, 1000, 984, 369, fit_mode::contain);
  expect_plan(plan, 74, 369, 455, 0);
  EXPECT_EQ(984 - plan.x - plan.scaled_width, 455);
}

TEST(FitGeometryContain, OddFreeSpaceGivesTheRightBarOneMore) {
  // A 1x1 source grows to 369x369; 615 free columns: 307 left, 308 right.
  const fit_plan plan = plan_fit(1, 1, 984, 369, fit_mode::contain);
  expect_plan(plan, 369, 369, 307, 0);
  EXPECT_EQ(984 - plan.x - plan.scaled_width, 308);
}

TEST(FitGeometryContain, TinyAndHugeSquaresFillASquareTarget) {
  expect_plan(plan_fit(1, 1, 144, 144, fit_mode::contain), 144, 144, 0, 0);
  expect_plan(plan_fit(16384, 16384, 144, 144, fit_mode::contain), 144, 144, 0, 0);
}

TEST(FitGeometryContain, ExtremePanoramaKeepsAtLeastOneRow) {
  // 984 / 16384 of a row rounds to 0: kept at 1, centred.
  expect_plan(plan_fit(16384, 1, 984, 369, fit_mode::contain), 984, 1, 0, 184);
}

TEST(FitGeometryCover, PhotoIsCroppedTopAndBottom) {
  // 4000x3000 -> 984x738; 369 rows to crop: 184 above, 185 below.
  const fit_plan plan = plan_fit(4000, 3000, 984, 369, fit_mode::cover);
  expect_plan(plan, 984, 738, 0, 184);
  EXPECT_EQ(plan.scaled_height - 369 - plan.y, 185);
}

TEST(FitGeometryCover, SquareIntoSquareCropsNothing) {
  expect_plan(plan_fit(2000, 2000, 144, 144, fit_mode::cover), 144, 144, 0, 0);
  expect_plan(plan_fit(1, 1, 144, 144, fit_mode::cover), 144, 144, 0, 0);
}

TEST(FitGeometryCover, WideSourceIsCroppedLeftAndRight) {
  // 1000x200 -> 1845x369 (1845 = 1000 * 369 / 200); 861 columns to crop: 430 left, 431 right.
  const fit_plan plan = plan_fit(1000, 200, 984, 369, fit_mode::cover);
  expect_plan(plan, 1845, 369, 430, 0);
  EXPECT_EQ(plan.scaled_width - 984 - plan.x, 431);
}

TEST(FitGeometryCover, TallSourceAndHugePanorama) {
  expect_plan(plan_fit(1000, 4000, 984, 369, fit_mode::cover), 984, 3936, 0, 1783);
  // 16384 * 144 columns after scaling: no int overflow, the window is in the middle.
  expect_plan(plan_fit(16384, 1, 144, 144, fit_mode::cover), 2359296, 144, 1179576, 0);
}

// For many random sizes: contain stays inside with one side exact and bars differing by at most
// one pixel (never more on the left/top); cover covers with one side exact and the crop split
// the same way; the aspect ratio is kept to within a pixel.
TEST(FitGeometryProperties, RandomSizes) {
  std::mt19937 random(12);
  std::uniform_int_distribution<int> side(1, 5000);
  for (int i = 0; i < 20000; ++i) {
    const int sw = side(random);
    const int sh = side(random);
    const int tw = side(random);
    const int th = side(random);
    const fit_plan in = plan_fit(sw, sh, tw, th, fit_mode::contain);
    ASSERT_LE(in.scaled_width, tw);
    ASSERT_LE(in.scaled_height, th);
    ASSERT_TRUE(in.scaled_width == tw || in.scaled_height == th);
    ASSERT_GE(in.scaled_width, 1);
    ASSERT_GE(in.scaled_height, 1);
    const long long right = tw - in.x - in.scaled_width;
    const long long bottom = th - in.y - in.scaled_height;
    ASSERT_TRUE(right - in.x == 0 || right - in.x == 1)
        << sw << "x" << sh << " " << tw << "x" << th;
    ASSERT_TRUE(bottom - in.y == 0 || bottom - in.y == 1)
        << sw << "x" << sh << " " << tw << "x" << th;

    const fit_plan over = plan_fit(sw, sh, tw, th, fit_mode::cover);
    ASSERT_GE(over.scaled_width, tw);
    ASSERT_GE(over.scaled_height, th);
    ASSERT_TRUE(over.scaled_width == tw || over.scaled_height == th);
    const long long crop_right = over.scaled_width - tw - over.x;
    const long long crop_bottom = over.scaled_height - th - over.y;
    ASSERT_TRUE(crop_right - over.x == 0 || crop_right - over.x == 1);
    ASSERT_TRUE(crop_bottom - over.y == 0 || crop_bottom - over.y == 1);
    // Aspect kept: the scaled height is the source's scaled by the same factor, within a pixel.
    for (const fit_plan* plan : {&in, &over}) {
      const double exact_height = static_cast<double>(sh) *
                                  static_cast<double>(plan->scaled_width) / static_cast<double>(sw);
      const double exact_width = static_cast<double>(sw) *
                                 static_cast<double>(plan->scaled_height) / static_cast<double>(sh);
      ASSERT_TRUE(std::abs(exact_height - static_cast<double>(plan->scaled_height)) <= 1.0 ||
                  std::abs(exact_width - static_cast<double>(plan->scaled_width)) <= 1.0);
    }
  }
}

TEST(FitTypes, ParseFit) {
  EXPECT_EQ(parse_fit("none"), fit_mode::none);
  EXPECT_EQ(parse_fit("contain"), fit_mode::contain);
  EXPECT_EQ(parse_fit("cover"), fit_mode::cover);
  for (const char* bad : {"", "Contain", "COVER", "fill", "contain ", " none", "scale-down"}) {
    EXPECT_FALSE(parse_fit(bad).has_value()) << bad;
  }
  EXPECT_EQ(to_string(fit_mode::cover), "cover");
}

TEST(FitTypes, ParseColour) {
  EXPECT_EQ(parse_colour("#FFFFFF"), white);
  EXPECT_EQ(parse_colour("#000000"), (rgb{0, 0, 0}));
  EXPECT_EQ(parse_colour("#0a0B0c"), (rgb{10, 11, 12}));
  EXPECT_EQ(parse_colour("#ff8000"), (rgb{255, 128, 0}));
  for (const char* bad : {"", "#", "#FFF", "FFFFFF", "#FFFFF", "#FFFFFFF", "#FFFFFF00", " #FFFFFF",
                          "#FFFFFF ", "#GG0000", "#-10000", "red", "rgb(1,2,3)", "##FFFFF"}) {
    EXPECT_FALSE(parse_colour(bad).has_value()) << bad;
  }
  EXPECT_EQ(to_hex(rgb{255, 128, 0}), "#ff8000");
}

TEST(FitTypes, CacheTagSeparatesWhatLooksDifferent) {
  EXPECT_EQ(fit_cache_tag(fit_mode::none, white), "");
  EXPECT_EQ(fit_cache_tag(fit_mode::none, rgb{1, 2, 3}), "");
  EXPECT_EQ(fit_cache_tag(fit_mode::contain, white), "contain#ffffff");
  EXPECT_EQ(fit_cache_tag(fit_mode::contain, rgb{1, 2, 3}), "contain#010203");
  // A cover shows no background: any colour is the same upload.
  EXPECT_EQ(fit_cache_tag(fit_mode::cover, white), "cover");
  EXPECT_EQ(fit_cache_tag(fit_mode::cover, rgb{1, 2, 3}), "cover");
}

// Shrink-on-load never leaves fewer pixels than asked for, and takes the most it can.
TEST(ShrinkOnLoadScale, JpegTakesTheSmallestEighthThatLeavesEnough) {
  EXPECT_EQ(jpeg_scale_eighths(4000, 3000, 492, 369), 1);  // 500x375
  EXPECT_EQ(jpeg_scale_eighths(4000, 3000, 501, 369), 2);  // 1/8 is 500 wide
  EXPECT_EQ(jpeg_scale_eighths(4000, 3000, 500, 376), 2);  // 1/8 is 375 high
  EXPECT_EQ(jpeg_scale_eighths(4000, 3000, 1500, 1125), 3);
  EXPECT_EQ(jpeg_scale_eighths(4000, 3000, 3501, 1), 8);
  EXPECT_EQ(jpeg_scale_eighths(4001, 3001, 501, 376), 1);  // ceil: 4001 / 8 -> 501
  EXPECT_EQ(jpeg_scale_eighths(100, 100, 984, 369), 8);    // growing: a full decode
  for (int width : {1, 7, 9, 983, 4000, 16383}) {
    for (long long need : {1LL, 3LL, 144LL, 369LL, 984LL}) {
      const int m = jpeg_scale_eighths(width, width, need, need);
      const long long side = (static_cast<long long>(width) * m + 7) / 8;
      if (m < 8) {
        EXPECT_GE(side, need) << width << " " << need;
      }
      if (m > 1) {
        EXPECT_LT((static_cast<long long>(width) * (m - 1) + 7) / 8, need);
      }
    }
  }
}

TEST(ShrinkOnLoadScale, BoxTakesTheLargestFactorThatLeavesEnough) {
  EXPECT_EQ(box_reduction_factor(1920, 1080, 984, 554), 1);
  EXPECT_EQ(box_reduction_factor(1920, 1080, 656, 369), 2);
  EXPECT_EQ(box_reduction_factor(1920, 1080, 256, 144), 7);  // 275x155
  EXPECT_EQ(box_reduction_factor(4096, 4096, 369, 369), 11);
  EXPECT_EQ(box_reduction_factor(100, 100, 984, 369), 1);
  for (int width : {1, 7, 983, 1920, 16383}) {
    for (long long need : {1LL, 3LL, 144LL, 369LL}) {
      const int k = box_reduction_factor(width, width, need, need);
      EXPECT_GE(k, 1);
      if (k > 1) {
        EXPECT_GE((width + k - 1) / k, need) << width << " " << need;
      }
    }
  }
}

}  // namespace
}  // namespace image_gateway
