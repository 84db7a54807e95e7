// Fitting instead of refusing (docs/fitting.md, issue 12), end to end: the real gateway on
// 127.0.0.1:0 fetches from a fake origin and uploads to a fake OPPO, whose accepted files are read
// back and decoded here.
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "fakes/test_servers.hpp"
#include "image_gateway/metrics/metrics.hpp"
#include "image_gateway/util/sample_images.hpp"
#include "integration/error_assertions.hpp"
#include "support/png16.hpp"

namespace image_gateway::testing {
namespace {

using nlohmann::json;

class FitTest : public ::testing::Test {
 protected:
  // Fitting is CPU work on decode threads that yield to everything else (SCHED_IDLE): on a
  // loaded test machine it can take seconds, so the deadline is generous (nothing here tests it).
  gateway_under_test& start(config c) {
    c.server.request_deadline = std::chrono::seconds(60);
    gateway = std::make_unique<gateway_under_test>(std::move(c));
    return *gateway;
  }
  gateway_under_test& start() { return start(test_config(oppo.base_url())); }

  // A request body; `extra` is merged in (fit, background).
  std::string body(const std::string& big, const std::string& small, json extra = {}) const {
    json request = extra.is_object() ? extra : json::object();
    if (!big.empty()) request["big_picture_url"] = origin.url(big);
    if (!small.empty()) request["small_picture_url"] = origin.url(small);
    return request.dump();
  }

  // The file OPPO accepted for the id the gateway answered with.
  std::string uploaded(const client_response& response, const std::string& id_field) {
    EXPECT_EQ(response.status, 200) << response.body;
    const json answer = json::parse(response.body, nullptr, false);
    if (!answer.is_object() || !answer.contains(id_field)) {
      ADD_FAILURE() << "no " << id_field << " in " << response.body;
      return {};
    }
    auto file = oppo.api().uploaded_file(answer.at(id_field).get<std::string>());
    EXPECT_TRUE(file.has_value());
    return file.value_or("");
  }

  static samples::rgba_image decoded(const std::string& bytes) {
    auto image = samples::decode_rgba(bytes);
    EXPECT_TRUE(image.has_value()) << "the uploaded file does not decode";
    return image.value_or(samples::rgba_image{});
  }

  fake_origin origin;
  fake_oppo_server oppo;
  std::unique_ptr<gateway_under_test> gateway;
};

TEST_F(FitTest, ContainScalesATwiceTheSizePngToTheBigPicture) {
  origin.serve("/wide.png", samples::png(1968, 738, 201));
  auto& gw = start();
  const auto response = post_images(gw, body("/wide.png", "", {{"fit", "contain"}}));
  const std::string file = uploaded(response, "big_picture_id");
  const auto image = decoded(file);
  EXPECT_EQ(image.width, 984);
  EXPECT_EQ(image.height, 369);
  EXPECT_EQ(file.substr(1, 3), "PNG");  // the source's format
  EXPECT_EQ(response.header("x-cache"), "miss");
}

TEST_F(FitTest, ContainPutsBackgroundRowsTopAndBottom) {
  origin.serve("/banner.png", samples::png(1000, 200, 202));
  auto& gw = start();
  const auto response =
      post_images(gw, body("/banner.png", "", {{"fit", "contain"}, {"background", "#00FF00"}}));
  const auto image = decoded(uploaded(response, "big_picture_id"));
  ASSERT_EQ(image.height, 369);
  const auto green_row = [&](int y) {
    for (int x = 0; x < image.width; ++x) {
      const unsigned char* p = image.at(x, y);
      if (p[0] != 0 || p[1] != 255 || p[2] != 0 || p[3] != 255) return false;
    }
    return true;
  };
  // 197 rows of picture at y 86; 86 rows of background above and 86 below.
  for (const int y : {0, 40, 85, 283, 330, 368}) EXPECT_TRUE(green_row(y)) << "row " << y;
  for (const int y : {86, 184, 282}) EXPECT_FALSE(green_row(y)) << "row " << y;
}

TEST_F(FitTest, CoverTurnsALargeJpegIntoTheIcon) {
  origin.serve("/square.jpg", samples::jpeg(2000, 2000, 203), "image/jpeg");
  auto& gw = start();
  const auto response = post_images(gw, body("", "/square.jpg", {{"fit", "cover"}}));
  const std::string file = uploaded(response, "small_picture_id");
  EXPECT_LE(file.size(), 51200U);
  ASSERT_GE(file.size(), 3U);
  EXPECT_EQ(static_cast<unsigned char>(file[0]), 0xff);  // still a JPEG
  EXPECT_EQ(static_cast<unsigned char>(file[1]), 0xd8);
  const auto image = decoded(file);
  EXPECT_EQ(image.width, 144);
  EXPECT_EQ(image.height, 144);
}

// Issue 16: a 2000x2000 16-bit interlaced RGBA PNG (an 84 KB logo) was refused with 51 "needs
// more than 104556238 bytes of memory", far inside the source caps.
TEST_F(FitTest, SixteenBitInterlacedRgbaPngIsFitted) {
  origin.serve("/logo16.png", png16::quadrants(2000, 2000, true));
  auto& gw = start();
  const auto response = post_images(gw, body("/logo16.png", "", {{"fit", "contain"}}));
  const auto image = decoded(uploaded(response, "big_picture_id"));
  ASSERT_EQ(image.width, 984);
  ASSERT_EQ(image.height, 369);
  // The square picture sits at x 307..675: red top left, half-transparent blue top right,
  // green below; transparent bars.
  const unsigned char* red = image.at(307 + 90, 90);
  EXPECT_EQ(std::vector<int>(red, red + 4), (std::vector<int>{255, 0, 0, 255}));
  EXPECT_NEAR(image.at(307 + 280, 90)[3], 128, 2);
  EXPECT_EQ(image.at(307 + 180, 280)[1], 255);
  EXPECT_EQ(image.at(100, 180)[3], 0);
}

TEST_F(FitTest, BothPicturesAreFittedInOneRequest) {
  origin.serve("/poster.jpg", samples::photo_jpeg(1000, 750, 213), "image/jpeg");
  origin.serve("/logo.png", samples::png(300, 200, 214));
  auto& gw = start();
  const auto response = post_images(gw, body("/poster.jpg", "/logo.png", {{"fit", "contain"}}));
  const auto big = decoded(uploaded(response, "big_picture_id"));
  const auto small = decoded(uploaded(response, "small_picture_id"));
  EXPECT_EQ(big.width, 984);
  EXPECT_EQ(big.height, 369);
  EXPECT_EQ(small.width, 144);
  EXPECT_EQ(small.height, 144);
  EXPECT_EQ(oppo.api().stats().uploads_accepted, 2U);
}

TEST_F(FitTest, WhenBothFailTheBigPictureIsReported) {
  // Both fail while being fitted (at once, on the decode pool): the answer names the big one.
  origin.serve("/bomb.png", samples::png_bomb(64, 64, 24 * 1024 * 1024));
  std::string cut = samples::png(300, 200, 215);
  cut.resize(cut.size() / 2);
  origin.serve("/cut.png", cut);
  auto& gw = start();
  expect_error(post_images(gw, body("/bomb.png", "/cut.png", {{"fit", "cover"}})), 200, 51,
               msg_picture, {"big_picture_url"});
  expect_error(post_images(gw, body("/cut.png", "/bomb.png", {{"fit", "cover"}})), 200, 51,
               msg_picture, {"big_picture_url"});
  EXPECT_EQ(oppo.api().stats().upload_requests, 0U);
}

TEST_F(FitTest, ExactSizePassesByteForByte) {
  const std::string big = samples::png(984, 369, 204);
  const std::string small = samples::jpeg(144, 144, 205);
  origin.serve("/big.png", big);
  origin.serve("/small.jpg", small, "image/jpeg");
  auto& gw = start();
  const auto response = post_images(gw, body("/big.png", "/small.jpg", {{"fit", "cover"}}));
  EXPECT_EQ(uploaded(response, "big_picture_id"), big);
  EXPECT_EQ(uploaded(response, "small_picture_id"), small);
}

TEST_F(FitTest, NoneStaysTheDefault) {
  origin.serve("/wide.png", samples::png(1968, 738, 206));
  auto& gw = start();
  for (const json& extra : {json::object(), json{{"fit", "none"}}, json{{"fit", nullptr}}}) {
    SCOPED_TRACE(extra.dump());
    expect_error(post_images(gw, body("/wide.png", "", extra)), 200, 51, msg_picture,
                 {"big_picture_url", "1968x738", "984x369"});
  }
  EXPECT_EQ(oppo.api().stats().upload_requests, 0U);
}

TEST_F(FitTest, OverTheCapsIs51) {
  config c = test_config(oppo.base_url());
  c.images.fit.max_source_bytes = 200000;
  c.images.fit.max_source_pixels = 1000000;
  origin.serve("/heavy.png", samples::noise_png(300, 300, 207));  // ~270 KB, 90,000 px
  origin.serve("/many.png", samples::png(1200, 1000, 208));       // small file, 1.2 MP
  auto& gw = start(std::move(c));
  expect_error(post_images(gw, body("/heavy.png", "", {{"fit", "contain"}})), 200, 51, msg_picture,
               {"big_picture_url", "200000"});
  expect_error(post_images(gw, body("/many.png", "", {{"fit", "contain"}})), 200, 51, msg_picture,
               {"big_picture_url", "1200x1000", "1000000 pixels"});
  EXPECT_EQ(oppo.api().stats().upload_requests, 0U);
}

TEST_F(FitTest, FitRaisesTheFetchLimitToTheSourceCap) {
  // 1.5 MB of PNG: over OPPO's 1 MiB for the big picture, within the fit's 10 MiB.
  const std::string large = samples::pad_png(samples::png(1968, 738, 209), 1500000);
  origin.serve("/large.png", large);
  auto& gw = start();
  expect_error(post_images(gw, body("/large.png", "")), 200, 51, msg_picture,
               {"big_picture_url", "1048576"});
  const auto response = post_images(gw, body("/large.png", "", {{"fit", "contain"}}));
  EXPECT_EQ(decoded(uploaded(response, "big_picture_id")).width, 984);
}

TEST_F(FitTest, DecompressionBombIs51) {
  origin.serve("/bomb.png", samples::png_bomb(64, 64, 24 * 1024 * 1024));
  origin.serve("/huge.png", samples::png_bomb(16384, 16384, 1000));
  auto& gw = start();
  expect_error(post_images(gw, body("/bomb.png", "", {{"fit", "contain"}})), 200, 51, msg_picture,
               {"big_picture_url", "memory"});
  expect_error(post_images(gw, body("/huge.png", "", {{"fit", "cover"}})), 200, 51, msg_picture,
               {"big_picture_url", "16384x16384"});
}

TEST_F(FitTest, SameRequestAgainIsACacheHitAndAnotherFitIsAnotherUpload) {
  origin.serve("/wide.png", samples::png(1968, 738, 210));
  auto& gw = start();
  const std::string contain = body("/wide.png", "", {{"fit", "contain"}});
  const auto first = post_images(gw, contain);
  const std::string first_id = json::parse(first.body).value("big_picture_id", "");
  ASSERT_FALSE(first_id.empty()) << first.body;
  EXPECT_EQ(first.header("x-cache"), "miss");

  const auto again = post_images(gw, contain);
  EXPECT_EQ(again.header("x-cache"), "hit");
  EXPECT_EQ(json::parse(again.body).value("big_picture_id", ""), first_id);
  EXPECT_EQ(oppo.api().stats().upload_requests, 1U);

  // The same source fitted another way, or on another background, is another upload; a cover
  // on another background is the same cover.
  const auto cover = post_images(gw, body("/wide.png", "", {{"fit", "cover"}}));
  EXPECT_EQ(cover.header("x-cache"), "miss");
  const auto black =
      post_images(gw, body("/wide.png", "", {{"fit", "contain"}, {"background", "#000000"}}));
  EXPECT_EQ(black.header("x-cache"), "miss");
  const auto cover_black =
      post_images(gw, body("/wide.png", "", {{"fit", "cover"}, {"background", "#000000"}}));
  EXPECT_EQ(cover_black.header("x-cache"), "hit");
  EXPECT_EQ(oppo.api().stats().upload_requests, 3U);
  EXPECT_NE(json::parse(cover.body).value("big_picture_id", ""), first_id);
}

TEST_F(FitTest, AnExactImageUnfittedAndFittedAreCachedApart) {
  // Same bytes, same upload: but the cache keys differ by fit, so each way uploads once.
  origin.serve("/big.png", samples::png(984, 369, 211));
  auto& gw = start();
  EXPECT_EQ(post_images(gw, body("/big.png", "")).header("x-cache"), "miss");
  EXPECT_EQ(post_images(gw, body("/big.png", "", {{"fit", "contain"}})).header("x-cache"), "miss");
  EXPECT_EQ(post_images(gw, body("/big.png", "", {{"fit", "contain"}})).header("x-cache"), "hit");
  EXPECT_EQ(post_images(gw, body("/big.png", "")).header("x-cache"), "hit");
}

TEST_F(FitTest, RequestsWithAFitOverTheirLimitAre503) {
  config c = test_config(oppo.base_url());
  c.images.fit.max_inflight = 1;
  c.fetch.timeout = std::chrono::seconds(20);  // longer than the origin's delay below
  origin.serve("/slow.png", samples::png(1968, 738, 216));
  // Under the fetcher's low-speed limit (nothing for 3 s aborts a transfer), over the time the
  // second request needs to be refused.
  origin.delay("/slow.png", std::chrono::milliseconds(2000));
  origin.serve("/big.png", samples::png(984, 369, 217));
  auto& gw = start(std::move(c));
  // The first request with a fit holds the only place while its source is slow to come.
  std::future<client_response> first = std::async(std::launch::async, [&] {
    return post_images(gw, body("/slow.png", "", {{"fit", "contain"}}));
  });
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (origin.hits("/slow.png") == 0 && std::chrono::steady_clock::now() < until) {
    std::this_thread::yield();
  }
  ASSERT_EQ(origin.hits("/slow.png"), 1U);
  const auto refused = post_images(gw, body("/big.png", "", {{"fit", "cover"}}));
  expect_error(refused, 503, 27000, msg_timeout, {"1 requests with a fit"});
  EXPECT_EQ(refused.header("retry-after"), "1");
  // A request without a fit is not held back by it.
  EXPECT_EQ(post_images(gw, body("/big.png", "")).status, 200);
  EXPECT_EQ(first.get().status, 200);
  // The place is free again.
  EXPECT_EQ(post_images(gw, body("/big.png", "", {{"fit", "cover"}})).status, 200);
  EXPECT_EQ(gw.api().metrics().shed.value({"fit_max_inflight"}), 1.0);
}

TEST_F(FitTest, BadFitOrBackgroundIs21003) {
  origin.serve("/big.png", samples::png(984, 369, 212));
  auto& gw = start();
  for (const json& fit : {json("fill"), json("Contain"), json(""), json(1), json(true)}) {
    SCOPED_TRACE(fit.dump());
    expect_error(post_images(gw, body("/big.png", "", {{"fit", fit}})), 400, 21003, msg_invalid,
                 {"fit"});
  }
  for (const json& colour : {json("#FFF"), json("white"), json("#GGGGGG"), json(16777215)}) {
    SCOPED_TRACE(colour.dump());
    expect_error(
        post_images(gw, body("/big.png", "", {{"fit", "contain"}, {"background", colour}})), 400,
        21003, msg_invalid, {"background"});
  }
  EXPECT_EQ(origin.total_hits(), 0U);  // refused before any fetch
}

}  // namespace
}  // namespace image_gateway::testing
