// The v4 endpoint end to end (docs/api.md, docs/oppo.md, docs/api.md#other-endpoints): the real
// gateway on 127.0.0.1:0 against a fake OPPO and a fake image origin over real sockets: which ids
// come back, the upload cache, token refresh, stage order, request ids, health endpoints and
// HTTP/1.0 and keep-alive.
#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>

#include "fakes/test_servers.hpp"
#include "image_gateway/metrics/metrics.hpp"
#include "image_gateway/util/sample_images.hpp"
#include "integration/error_assertions.hpp"

namespace image_gateway::testing {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;

class PipelineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    origin.serve("/big.png", samples::png(984, 369, 101));
    origin.serve("/small.png", samples::png(144, 144, 102));
  }

  config settings() { return test_config(oppo.base_url()); }
  gateway_under_test& start(config c) {
    gateway = std::make_unique<gateway_under_test>(std::move(c));
    return *gateway;
  }
  gateway_under_test& start() { return start(settings()); }

  std::string body(const std::string& big, const std::string& small) const {
    json request = json::object();
    if (!big.empty()) request["big_picture_url"] = origin.url(big);
    if (!small.empty()) request["small_picture_url"] = origin.url(small);
    return request.dump();
  }

  // The answer of a request that must succeed, parsed.
  static json ids_of(const client_response& response) {
    EXPECT_EQ(response.status, 200) << response.body << response.error;
    EXPECT_EQ(response.header("content-type"), "application/json");
    const json answer = json::parse(response.body, nullptr, false);
    EXPECT_TRUE(answer.is_object()) << response.body;
    return answer.is_object() ? answer : json::object();
  }

  fake_origin origin;
  fake_oppo_server oppo;
  std::unique_ptr<gateway_under_test> gateway;
};

// ---------------------------------------------------------------- which ids come back

TEST_F(PipelineTest, BothImagesAnswerBothIds) {
  auto& gw = start();
  const auto response = post_images(gw, body("/big.png", "/small.png"));
  const json answer = ids_of(response);
  ASSERT_EQ(answer.size(), 2U) << response.body;
  const std::string big = answer.value("big_picture_id", "");
  const std::string small = answer.value("small_picture_id", "");
  EXPECT_FALSE(big.empty());
  EXPECT_FALSE(small.empty());
  EXPECT_NE(big, small);
  EXPECT_EQ(response.header("x-cache"), "miss");
  EXPECT_EQ(origin.hits("/big.png"), 1U);
  EXPECT_EQ(origin.hits("/small.png"), 1U);
  EXPECT_EQ(oppo.api().stats().uploads_accepted, 2U);
  EXPECT_EQ(oppo.api().stats().auth_requests, 1U);
}

TEST_F(PipelineTest, OnlyBigAnswersOnlyTheBigId) {
  auto& gw = start();
  const json answer = ids_of(post_images(gw, body("/big.png", "")));
  ASSERT_EQ(answer.size(), 1U);
  EXPECT_FALSE(answer.value("big_picture_id", "").empty());
  EXPECT_FALSE(answer.contains("small_picture_id"));
  EXPECT_EQ(origin.hits("/small.png"), 0U);
  EXPECT_EQ(oppo.api().stats().upload_requests, 1U);
}

TEST_F(PipelineTest, OnlySmallAnswersOnlyTheSmallId) {
  auto& gw = start();
  // null and "" mean "not asked for".
  for (const std::string big : {"null", "\"\""}) {
    SCOPED_TRACE(big);
    const std::string text = R"({"big_picture_url":)" + big + R"(,"small_picture_url":")" +
                             origin.url("/small.png") + R"(","unknown_field":[1,2,3]})";
    const json answer = ids_of(post_images(gw, text));
    ASSERT_EQ(answer.size(), 1U);
    EXPECT_FALSE(answer.value("small_picture_id", "").empty());
  }
  EXPECT_EQ(origin.hits("/big.png"), 0U);
}

TEST_F(PipelineTest, JpegImagesAreUploadedAsJpeg) {
  origin.serve("/big.jpg", samples::jpeg(984, 369, 103), "image/jpeg");
  origin.serve("/small.jpg", samples::jpeg(144, 144, 104), "image/jpeg");
  auto& gw = start();
  // The fake OPPO refuses (41) a file whose name or Content-Type does not match its bytes.
  const json answer = ids_of(post_images(gw, body("/big.jpg", "/small.jpg")));
  EXPECT_EQ(answer.size(), 2U);
  EXPECT_EQ(oppo.api().stats().uploads_accepted, 2U);
}

TEST_F(PipelineTest, ContentTypeOfTheRequestDoesNotMatter) {
  auto& gw = start();
  // curl -d sends application/x-www-form-urlencoded: the body is JSON all the same.
  const auto response =
      post_images(gw, body("", "/small.png"), {"Content-Type: application/x-www-form-urlencoded"});
  EXPECT_FALSE(ids_of(response).value("small_picture_id", "").empty());
}

// ---------------------------------------------------------------- upload cache

TEST_F(PipelineTest, SameImagesAgainComeFromTheCache) {
  auto& gw = start();
  const auto first = post_images(gw, body("/big.png", "/small.png"));
  const json first_ids = ids_of(first);
  EXPECT_EQ(first.header("x-cache"), "miss");
  ASSERT_EQ(oppo.api().stats().upload_requests, 2U);

  const auto second = post_images(gw, body("/big.png", "/small.png"));
  const json second_ids = ids_of(second);
  EXPECT_EQ(second.header("x-cache"), "hit");
  EXPECT_EQ(second_ids, first_ids);
  EXPECT_EQ(oppo.api().stats().upload_requests, 2U);  // no new upload
  EXPECT_EQ(origin.hits("/big.png"), 2U);  // the bytes are fetched: the cache is keyed by them
  EXPECT_EQ(gw.api().metrics().cache_lookups.value({"hit"}), 2.0);
  EXPECT_EQ(gw.api().metrics().cache_lookups.value({"miss"}), 2.0);
}

TEST_F(PipelineTest, CacheHitDoesNotTalkToOppo) {
  // While OPPO would refuse every upload, the cached bytes still answer from the cache.
  auto& gw = start();
  const json first = ids_of(post_images(gw, body("", "/small.png")));
  oppo.api().script_upload_codes({51, 51, 51});
  const auto second = post_images(gw, body("", "/small.png"));
  EXPECT_EQ(ids_of(second), first);
  EXPECT_EQ(second.header("x-cache"), "hit");
  EXPECT_EQ(oppo.api().stats().upload_requests, 1U);
}

TEST_F(PipelineTest, ADifferentImageIsAMissAndOnlyItIsUploaded) {
  origin.serve("/big2.png", samples::png(984, 369, 105));
  auto& gw = start();
  const json first = ids_of(post_images(gw, body("/big.png", "/small.png")));
  const auto second = post_images(gw, body("/big2.png", "/small.png"));
  const json answer = ids_of(second);
  EXPECT_EQ(second.header("x-cache"), "miss");  // not every image came from the cache
  EXPECT_NE(answer.value("big_picture_id", ""), first.value("big_picture_id", ""));
  EXPECT_EQ(answer.value("small_picture_id", ""), first.value("small_picture_id", ""));
  EXPECT_EQ(oppo.api().stats().upload_requests, 3U);
}

TEST_F(PipelineTest, CachedBigImageOfferedAsSmallIsStillChecked) {
  // The image checks run before the cache: a big picture's id is never a small_picture_id.
  const std::string big = samples::png(984, 369, 106);
  origin.serve("/a.png", big);
  auto& gw = start();
  ids_of(post_images(gw, body("/a.png", "")));
  const auto as_small = post_images(gw, body("", "/a.png"));
  expect_error(as_small, 200, 51, msg_picture, {"small_picture_url", "984x369"});
}

TEST_F(PipelineTest, CacheMaxEntriesZeroNeverHits) {
  config c = settings();
  c.cache.max_entries = 0;
  auto& gw = start(c);
  const auto first = post_images(gw, body("", "/small.png"));
  const auto second = post_images(gw, body("", "/small.png"));
  ids_of(first);
  ids_of(second);
  EXPECT_EQ(first.header("x-cache"), "miss");
  EXPECT_EQ(second.header("x-cache"), "miss");
  EXPECT_EQ(oppo.api().stats().upload_requests, 2U);
}

TEST_F(PipelineTest, CacheIsPerOppoApp) {
  fake_oppo_server two_apps(
      {fake_oppo_server::default_oppo_app(), oppo_credentials{"oppo-other-app", "oppo-other"}});
  config c = test_config(two_apps.base_url());
  c.apps.push_back({"sibling-app", "sibling-secret", fake_oppo_server::default_oppo_app(), 0});
  c.apps.push_back({"other-app", "other-secret", {"oppo-other-app", "oppo-other"}, 0});
  auto& gw = start(c);
  const auto as = [&](const char* key, const char* secret) {
    return http_call("POST", gw.url("/v4/image/oppo"), body("", "/small.png"),
                     {basic_header(key, secret)});
  };
  const json first = ids_of(as(test_app_key, test_app_secret));
  // Another caller app on the same OPPO app: OPPO keeps the picture for that OPPO app.
  const auto sibling = as("sibling-app", "sibling-secret");
  EXPECT_EQ(sibling.header("x-cache"), "hit");
  EXPECT_EQ(ids_of(sibling), first);
  // A different OPPO app needs its own upload.
  const auto other = as("other-app", "other-secret");
  EXPECT_EQ(other.header("x-cache"), "miss");
  EXPECT_NE(ids_of(other), first);
  EXPECT_EQ(two_apps.api().stats().uploads_accepted, 2U);
  EXPECT_EQ(two_apps.api().stats().auth_requests, 2U);
}

// ---------------------------------------------------------------- OPPO tokens and failures

TEST_F(PipelineTest, TokenIsReusedAcrossRequests) {
  origin.serve("/small2.png", samples::png(144, 144, 107));
  auto& gw = start();
  ids_of(post_images(gw, body("", "/small.png")));
  const std::string token = oppo.api().stats().last_upload_token;
  ids_of(post_images(gw, body("", "/small2.png")));
  EXPECT_EQ(oppo.api().stats().auth_requests, 1U);
  EXPECT_EQ(oppo.api().stats().last_upload_token, token);
}

TEST_F(PipelineTest, RevokedTokenIsRefreshedOnceAndTheUploadRetried) {
  origin.serve("/small2.png", samples::png(144, 144, 108));
  auto& gw = start();
  ids_of(post_images(gw, body("", "/small.png")));
  const std::string first_token = oppo.api().stats().last_upload_token;
  ASSERT_FALSE(first_token.empty());

  oppo.api().revoke_tokens();
  const auto response = post_images(gw, body("", "/small2.png"));
  EXPECT_FALSE(ids_of(response).value("small_picture_id", "").empty());
  const auto stats = oppo.api().stats();
  EXPECT_EQ(stats.auth_requests, 2U);
  EXPECT_EQ(stats.upload_requests, 3U);  // 1 + the refused one + its retry
  EXPECT_EQ(stats.uploads_accepted, 2U);
  EXPECT_NE(stats.last_upload_token, first_token);  // the accepted upload carried the new token
  EXPECT_FALSE(stats.last_upload_token.empty());
}

TEST_F(PipelineTest, OppoTimingOutOnTheUploadIs27000) {
  origin.serve("/small2.png", samples::png(144, 144, 109));
  config c = settings();
  c.oppo.timeout = milliseconds(300);
  c.oppo.retries = 0;
  auto& gw = start(c);
  ids_of(post_images(gw, body("", "/small.png")));  // the token is cached from here on
  oppo.api().set_delay(milliseconds(2000));
  expect_error(post_images(gw, body("", "/small2.png")), 500, 27000, msg_timeout,
               {"timed out", "300 ms", "upload"});
  EXPECT_EQ(oppo.api().stats().auth_requests, 1U);
  EXPECT_EQ(oppo.api().stats().upload_requests, 2U);
}

TEST_F(PipelineTest, OppoBusinessRejectionIsNotRetriedAndNotCached) {
  auto& gw = start();
  oppo.api().script_upload_codes({51});
  expect_error(post_images(gw, body("", "/small.png")), 200, 51, msg_picture, {"code 51"});
  EXPECT_EQ(oppo.api().stats().upload_requests, 1U);
  // The next try uploads again (nothing was cached) and succeeds.
  const auto again = post_images(gw, body("", "/small.png"));
  EXPECT_FALSE(ids_of(again).value("small_picture_id", "").empty());
  EXPECT_EQ(again.header("x-cache"), "miss");
  EXPECT_EQ(oppo.api().stats().upload_requests, 2U);
}

// ---------------------------------------------------------------- first failing stage wins

TEST_F(PipelineTest, UrlCheckBeatsAFetchFailureAndNothingIsFetched) {
  auto& gw = start();
  const std::string text = json{{"big_picture_url", "ftp://127.0.0.1/big.png"},
                                {"small_picture_url", origin.url("/missing.png")}}
                               .dump();
  expect_error(post_images(gw, text), 400, 21003, msg_invalid, {"big_picture_url", "ftp"});
  EXPECT_EQ(origin.total_hits(), 0U);
}

TEST_F(PipelineTest, SmallUrlCheckBeatsABigFetchFailure) {
  auto& gw = start();
  const std::string text = json{
      {"big_picture_url", origin.url("/missing.png")},
      {"small_picture_url",
       "ftp://x/s.png"}}.dump();
  expect_error(post_images(gw, text), 400, 21003, msg_invalid, {"small_picture_url", "ftp"});
  EXPECT_EQ(origin.total_hits(), 0U);
}

TEST_F(PipelineTest, BigFetchFailureBeatsAWrongSizedSmall) {
  origin.serve("/tiny.png", samples::png(100, 100, 110));
  auto& gw = start();
  expect_error(post_images(gw, body("/missing.png", "/tiny.png")), 400, 21003, msg_invalid,
               {"big_picture_url", "HTTP 404"});
}

TEST_F(PipelineTest, SmallFetchFailureBeatsAWrongSizedBig) {
  // Stage before field: the small's fetch error wins over the big's image check.
  origin.serve("/wide.png", samples::png(1000, 400, 111));
  auto& gw = start();
  expect_error(post_images(gw, body("/wide.png", "/missing.png")), 400, 21003, msg_invalid,
               {"small_picture_url", "HTTP 404"});
}

TEST_F(PipelineTest, WithinAStageBigComesFirst) {
  origin.serve("/wide.png", samples::png(1000, 400, 112));
  origin.serve("/tiny.png", samples::png(100, 100, 113));
  auto& gw = start();
  expect_error(post_images(gw, body("/wide.png", "/tiny.png")), 200, 51, msg_picture,
               {"big_picture_url", "1000x400"});
  expect_error(post_images(gw, body("/missing-big.png", "/missing-small.png")), 400, 21003,
               msg_invalid, {"big_picture_url", "404"});
}

TEST_F(PipelineTest, NothingIsUploadedWhenOneImageFailsItsChecks) {
  origin.serve("/tiny.png", samples::png(100, 100, 114));
  auto& gw = start();
  expect_error(post_images(gw, body("/big.png", "/tiny.png")), 200, 51, msg_picture,
               {"small_picture_url", "100x100"});
  EXPECT_EQ(oppo.api().stats().upload_requests, 0U);
  EXPECT_EQ(oppo.api().stats().auth_requests, 0U);
}

// ---------------------------------------------------------------- request ids and headers

TEST_F(PipelineTest, SaneRequestIdIsEchoed) {
  auto& gw = start();
  const std::string id = "trace-01.A_b";
  EXPECT_EQ(post_images(gw, body("", "/small.png"), {"X-Request-Id: " + id}).header("x-request-id"),
            id);
  const std::string longest(128, 'a');
  EXPECT_EQ(post_images(gw, "{}", {"X-Request-Id: " + longest}).header("x-request-id"), longest);
  // On errors too, including those the server refuses before the handler.
  EXPECT_EQ(http_call("GET", gw.url("/nope"), "", {"X-Request-Id: " + id}).header("x-request-id"),
            id);
  EXPECT_EQ(http_call("POST", gw.url("/v4/image/oppo"), "{}", {"X-Request-Id: " + id})
                .header("x-request-id"),
            id);
  EXPECT_EQ(
      http_call("GET", gw.url("/healthz"), "", {"X-Request-Id: " + id}).header("x-request-id"), id);
}

TEST_F(PipelineTest, InsaneRequestIdIsReplaced) {
  auto& gw = start();
  for (const std::string& id :
       {std::string(129, 'a'), std::string(200, 'b'), std::string("has space"),
        std::string("semi;colon"), std::string("slash/id")}) {
    SCOPED_TRACE(id);
    const auto response = post_images(gw, "{}", {"X-Request-Id: " + id});
    const std::string answered = response.header("x-request-id");
    EXPECT_NE(answered, id);
    EXPECT_FALSE(answered.empty());
    EXPECT_LE(answered.size(), 128U);
    EXPECT_EQ(answered.find_first_not_of(
                  "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-"),
              std::string::npos);
  }
  // Without one, each answer gets its own.
  const std::string a = post_images(gw, "{}").header("x-request-id");
  const std::string b = post_images(gw, "{}").header("x-request-id");
  EXPECT_FALSE(a.empty());
  EXPECT_NE(a, b);
}

// KNOWN FAILURE (reported to the lead): same cause as ErrorTableTest.BodyOverMaxBodyBytesIs413;
// the header read fails before is_header_done(), so refuse() sees no headers and the caller's
// X-Request-Id is replaced.
TEST_F(PipelineTest, RequestIdOnARefusedOversizedBody) {
  config c = settings();
  c.server.max_body_bytes = 256;
  auto& gw = start(c);
  const auto response =
      post_images(gw, json{{"pad", std::string(300, 'x')}}.dump(), {"X-Request-Id: big-body-1"});
  EXPECT_EQ(response.status, 413);
  EXPECT_EQ(response.header("x-request-id"), "big-body-1");
  EXPECT_EQ(response.header("content-type"), "application/json");
}

TEST_F(PipelineTest, EveryAnswerIsJson) {
  auto& gw = start();
  std::vector<client_response> answers = {
      post_images(gw, body("/big.png", "/small.png")),
      post_images(gw, "{}"),
      post_images(gw, "nope"),
      http_call("POST", gw.url("/v4/image/oppo"), "{}"),
      http_call("GET", gw.url("/v4/image/oppo")),
      http_call("DELETE", gw.url("/anything")),
      http_call("GET", gw.url("/healthz")),
      http_call("GET", gw.url("/readyz")),
  };
  for (const auto& answer : answers) {
    SCOPED_TRACE(answer.body);
    EXPECT_EQ(answer.header("content-type"), "application/json");
    EXPECT_FALSE(answer.header("x-request-id").empty());
    EXPECT_FALSE(json::parse(answer.body, nullptr, false).is_discarded());
  }
  // /metrics is the documented exception.
  const auto metrics = http_call("GET", gw.url("/metrics"));
  EXPECT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.header("content-type").find("text/plain"), std::string::npos);
  EXPECT_NE(metrics.body.find("image_gateway_upload_cache_lookups_total"), std::string::npos);
}

// ---------------------------------------------------------------- health and readiness

TEST_F(PipelineTest, HealthzIsOkAndDoesNotDependOnOppo) {
  config c = test_config("http://127.0.0.1:" + std::to_string(closed_port()));
  auto& gw = start(c);
  const auto response = http_call("GET", gw.url("/healthz"));
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(json::parse(response.body), (json{{"status", "ok"}}));
  EXPECT_EQ(response.header("content-type"), "application/json");
}

TEST_F(PipelineTest, ReadyzTurns503WhenDraining) {
  auto& gw = start();
  const auto ready = http_call("GET", gw.url("/readyz"));
  EXPECT_EQ(ready.status, 200);
  EXPECT_EQ(json::parse(ready.body), (json{{"status", "ready"}}));

  gw.api().begin_drain();
  const auto draining = http_call("GET", gw.url("/readyz"));
  EXPECT_EQ(draining.status, 503);
  EXPECT_EQ(json::parse(draining.body), (json{{"status", "draining"}}));
  EXPECT_EQ(draining.header("content-type"), "application/json");
  // Liveness and the endpoint itself are unaffected during the drain window.
  EXPECT_EQ(http_call("GET", gw.url("/healthz")).status, 200);
  ids_of(post_images(gw, body("", "/small.png")));
}

// ---------------------------------------------------------------- HTTP versions and connections

TEST_F(PipelineTest, Http10RequestIsAnsweredAndTheConnectionClosed) {
  auto& gw = start();
  raw_connection connection(gw.port());
  ASSERT_TRUE(connection.connected());
  ASSERT_TRUE(connection.send(raw_post("1.0", body("", "/small.png"))));
  const raw_response response = connection.read_response();
  ASSERT_EQ(response.error, "");
  EXPECT_EQ(response.status_line.substr(0, 12), "HTTP/1.0 200") << response.status_line;
  EXPECT_FALSE(ids_of(response).value("small_picture_id", "").empty());
  EXPECT_TRUE(connection.closed_by_peer());
}

TEST_F(PipelineTest, TwoRequestsOnOneKeptAliveConnection) {
  auto& gw = start();
  raw_connection connection(gw.port());
  ASSERT_TRUE(connection.connected());

  ASSERT_TRUE(connection.send(raw_post("1.1", body("/big.png", "/small.png"))));
  const raw_response first = connection.read_response();
  ASSERT_EQ(first.error, "");
  EXPECT_EQ(first.status_line.substr(0, 12), "HTTP/1.1 200") << first.status_line;
  const json first_ids = ids_of(first);

  ASSERT_TRUE(connection.send(raw_post("1.1", body("/big.png", "/small.png"))));
  const raw_response second = connection.read_response();
  ASSERT_EQ(second.error, "");
  EXPECT_EQ(second.status, 200);
  EXPECT_EQ(ids_of(second), first_ids);
  EXPECT_EQ(second.header("x-cache"), "hit");

  // An error answer keeps the connection too.
  ASSERT_TRUE(connection.send(raw_post("1.1", "{}")));
  const raw_response third = connection.read_response();
  expect_error(third, 400, 23002, msg_missing);
  EXPECT_EQ(gw.server().server().open_connections(), 1U);
}

}  // namespace
}  // namespace image_gateway::testing
