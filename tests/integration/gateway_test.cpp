// The real gateway on 127.0.0.1:0 against a fake OPPO and a fake image origin, over sockets.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "fakes/test_servers.hpp"
#include "image_gateway/util/sample_images.hpp"

namespace image_gateway::testing {
namespace {

using nlohmann::json;

class GatewayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    origin.serve("/big.png", samples::png(984, 369, 11));
    origin.serve("/small.png", samples::png(144, 144, 12));
  }

  gateway_under_test& start(config settings) {
    gateway = std::make_unique<gateway_under_test>(std::move(settings));
    return *gateway;
  }
  gateway_under_test& start() { return start(test_config(oppo.base_url())); }

  std::string body(const std::string& big, const std::string& small) {
    json request = json::object();
    if (!big.empty()) request["big_picture_url"] = origin.url(big);
    if (!small.empty()) request["small_picture_url"] = origin.url(small);
    return request.dump();
  }

  fake_origin origin;
  fake_oppo_server oppo;
  std::unique_ptr<gateway_under_test> gateway;
};

TEST_F(GatewayTest, UploadsBothImagesAndAnswersTheirIds) {
  auto& gw = start();
  const auto response = post_images(gw, body("/big.png", "/small.png"));
  ASSERT_EQ(response.status, 200) << response.body << response.error;
  const json answer = json::parse(response.body);
  EXPECT_FALSE(answer.at("big_picture_id").get<std::string>().empty());
  EXPECT_FALSE(answer.at("small_picture_id").get<std::string>().empty());
  EXPECT_EQ(answer.size(), 2U);
  EXPECT_EQ(response.header("content-type"), "application/json");
  EXPECT_EQ(response.header("x-cache"), "miss");
  EXPECT_FALSE(response.header("x-request-id").empty());
  EXPECT_EQ(oppo.api().stats().uploads_accepted, 2U);
  EXPECT_EQ(oppo.api().stats().auth_requests, 1U);
}

TEST_F(GatewayTest, OneIoThreadServesWithoutStrands) {
  // server.threads 1: connections share the io_context's executor instead of strands.
  auto& gw = *(gateway = std::make_unique<gateway_under_test>(test_config(oppo.base_url()), 1));
  for (int i = 0; i < 3; ++i) {
    const auto response = post_images(gw, body("/big.png", "/small.png"));
    ASSERT_EQ(response.status, 200) << response.body << response.error;
    EXPECT_EQ(response.header("x-cache"), i == 0 ? "miss" : "hit");
  }
  EXPECT_EQ(http_call("GET", gw.url("/healthz")).status, 200);
  EXPECT_EQ(oppo.api().stats().uploads_accepted, 2U);
}

}  // namespace
}  // namespace image_gateway::testing
