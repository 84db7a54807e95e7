// docs/api.md#errors: which answers carry `"upstream":{"code":N,"message":"…"}`. Every 23100 (and
// 27000) that comes from an OPPO answer with OPPO's own non-zero code carries it; time-outs,
// connection failures and unreadable answers have no OPPO code and carry none. The detail is
// unchanged.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "fakes/test_servers.hpp"
#include "image_gateway/util/sample_images.hpp"
#include "integration/error_assertions.hpp"

namespace image_gateway::testing {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;

class UpstreamTest : public ::testing::Test {
 protected:
  void SetUp() override { origin.serve("/small.png", samples::png(144, 144, 71)); }
  config settings() { return test_config(oppo.base_url()); }
  gateway_under_test& start(config c) {
    gateway = std::make_unique<gateway_under_test>(std::move(c));
    return *gateway;
  }
  client_response post_small() {
    return post_images(*gateway, json{{"small_picture_url", origin.url("/small.png")}}.dump());
  }

  fake_origin origin;
  fake_oppo_server oppo;
  std::unique_ptr<gateway_under_test> gateway;
};

void expect_upstream(const json& error, int code) {
  ASSERT_TRUE(error.contains("upstream")) << error.dump();
  const json& upstream = error.at("upstream");
  EXPECT_EQ(upstream.size(), 2u) << error.dump();
  EXPECT_EQ(upstream.value("code", -999), code) << error.dump();
  ASSERT_TRUE(upstream.contains("message") && upstream.at("message").is_string());
  EXPECT_FALSE(upstream.at("message").get<std::string>().empty());
}

// "Code14" rather than "0" in test names.
std::string code_name(const ::testing::TestParamInfo<int>& code_info) {
  return "Code" + std::to_string(code_info.param);
}

// ---- 23100 with upstream ----

class AuthCredentialCodeTest : public UpstreamTest, public ::testing::WithParamInterface<int> {};

TEST_P(AuthCredentialCodeTest, Is23100WithUpstream) {
  start(settings());
  const int code = GetParam();
  oppo.api().script_auth_codes({code});
  const auto error = expect_error(post_small(), 500, 23100, msg_server,
                                  {"credentials", "code " + std::to_string(code)});
  expect_upstream(error, code);
  EXPECT_EQ(oppo.api().stats().upload_requests, 0U);
}

INSTANTIATE_TEST_SUITE_P(CredentialCodes, AuthCredentialCodeTest,
                         ::testing::Values(14, 15, 16, 17, 18, 19, 26, 27, 28, 30), code_name);

TEST_F(UpstreamTest, WrongMasterSecretIs23100WithOpposSignatureCode) {
  config c = settings();
  c.apps[0].oppo.master_secret = "wrong-oppo-master-secret";
  start(c);
  const auto response = post_small();
  const auto error = expect_error(response, 500, 23100, msg_server, {"credentials", "code 16"});
  expect_upstream(error, 16);
  EXPECT_EQ(error.at("upstream").value("message", ""), "Invalid Signature");
  EXPECT_EQ(response.body.find("wrong-oppo-master-secret"), std::string::npos);
}

TEST_F(UpstreamTest, OtherRefusalOfTheAuthCallIs23100WithUpstream) {
  start(settings());
  oppo.api().script_auth_codes({40});
  const auto error = expect_error(post_small(), 500, 23100, msg_server, {"auth call", "code 40"});
  expect_upstream(error, 40);
  EXPECT_EQ(error.at("upstream").value("message", ""), "Missing Required Arguments");
}

TEST_F(UpstreamTest, CredentialCodeOnTheUploadIs23100WithUpstream) {
  start(settings());
  oppo.api().script_upload_codes({30});
  const auto error = expect_error(post_small(), 500, 23100, msg_server, {"credentials", "code 30"});
  expect_upstream(error, 30);
  EXPECT_EQ(oppo.api().stats().upload_requests, 1U);
}

class TokenRefusedAgainTest : public UpstreamTest, public ::testing::WithParamInterface<int> {};

TEST_P(TokenRefusedAgainTest, Is23100WithUpstream) {
  start(settings());
  const int code = GetParam();
  oppo.api().script_upload_codes({code, code});
  const auto error = expect_error(post_small(), 500, 23100, msg_server,
                                  {"after a refresh", "code " + std::to_string(code)});
  expect_upstream(error, code);
  EXPECT_EQ(error.at("upstream").value("message", ""),
            code == 11 ? "Invalid AuthToken" : "Missing Auth Token");
  EXPECT_EQ(oppo.api().stats().auth_requests, 2U);
  EXPECT_EQ(oppo.api().stats().upload_requests, 2U);
}

INSTANTIATE_TEST_SUITE_P(TokenCodes, TokenRefusedAgainTest, ::testing::Values(11, 29), code_name);

// ---- 23100 without upstream: no OPPO code decided it ----

TEST_F(UpstreamTest, UnreadableUploadAnswerIs23100WithoutUpstream) {
  fixed_answer_server broken(200, "<html>gateway says hi</html>", "text/html");
  config c = settings();
  c.oppo.media_base_url = broken.base_url();
  start(c);
  const auto error = expect_error(post_small(), 500, 23100, msg_server, {"could not be read"});
  EXPECT_FALSE(error.contains("upstream")) << error.dump();
}

TEST_F(UpstreamTest, UnreadableAuthAnswerIs23100WithoutUpstream) {
  fixed_answer_server broken(200, "not json at all");
  config c = settings();
  c.oppo.auth_base_url = broken.base_url();
  start(c);
  const auto error = expect_error(post_small(), 500, 23100, msg_server, {"auth"});
  EXPECT_FALSE(error.contains("upstream")) << error.dump();
}

TEST_F(UpstreamTest, SuccessWithoutAnIdIs23100WithoutUpstream) {
  fixed_answer_server odd(200, R"({"code":0,"message":"success","data":{}})", "application/json");
  config c = settings();
  c.oppo.media_base_url = odd.base_url();
  start(c);
  const auto error = expect_error(post_small(), 500, 23100, msg_server);
  EXPECT_FALSE(error.contains("upstream")) << error.dump();
}

// ---- 27000: a throttling code that outlasted the retries carries it; transport failures not ----

TEST_F(UpstreamTest, ThrottledAfterTheRetriesIs27000WithUpstream) {
  config c = settings();
  c.oppo.retries = 1;
  start(c);
  oppo.api().script_upload_codes({13, 13});
  const auto error = expect_error(post_small(), 500, 27000, msg_timeout, {"code 13", "2 attempts"});
  expect_upstream(error, 13);
  EXPECT_EQ(error.at("upstream").value("message", ""), "App Call Limited");
}

TEST_F(UpstreamTest, ThrottledAuthIs27000WithUpstream) {
  config c = settings();
  c.oppo.retries = 0;
  start(c);
  oppo.api().script_auth_codes({-2});
  const auto error = expect_error(post_small(), 500, 27000, msg_timeout, {"code -2"});
  expect_upstream(error, -2);
}

TEST_F(UpstreamTest, TimeOutAndConnectionFailureCarryNoUpstream) {
  config c = settings();
  c.oppo.timeout = milliseconds(200);
  c.oppo.retries = 0;
  start(c);
  oppo.api().set_delay(milliseconds(1500));
  const auto timed_out = expect_error(post_small(), 500, 27000, msg_timeout, {"timed out"});
  EXPECT_FALSE(timed_out.contains("upstream")) << timed_out.dump();

  start(test_config("http://127.0.0.1:" + std::to_string(closed_port())));
  const auto unreachable =
      expect_error(post_small(), 500, 27000, msg_timeout, {"could not be reached"});
  EXPECT_FALSE(unreachable.contains("upstream")) << unreachable.dump();
}

TEST_F(UpstreamTest, Http5xxWithoutAnOppoCodeCarriesNoUpstream) {
  fixed_answer_server unavailable(503, "<html>503</html>", "text/html");
  config c = settings();
  c.oppo.media_base_url = unavailable.base_url();
  c.oppo.retries = 0;
  start(c);
  const auto error = expect_error(post_small(), 500, 27000, msg_timeout, {"HTTP 503"});
  EXPECT_FALSE(error.contains("upstream")) << error.dump();
}

}  // namespace
}  // namespace image_gateway::testing
