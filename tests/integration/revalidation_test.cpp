// Revalidation and freshness (docs/api.md): the real gateway against a fake origin that speaks
// ETag, Last-Modified, Cache-Control and 304, and a fake OPPO. What is remembered, what is sent,
// what a 304 means, and when the origin is not asked at all.
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "fakes/test_servers.hpp"
#include "image_gateway/metrics/metrics.hpp"
#include "image_gateway/util/sample_images.hpp"
#include "integration/error_assertions.hpp"

namespace image_gateway::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

constexpr const char* date = "Mon, 30 Nov 2026 12:00:00 GMT";
constexpr const char* an_hour_before = "Mon, 30 Nov 2026 11:00:00 GMT";

class RevalidationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    origin.serve("/big.png", samples::png(984, 369, 201));
    origin.serve("/small.png", samples::png(144, 144, 202));
  }

  gateway_under_test& start(config c) {
    gateway = std::make_unique<gateway_under_test>(std::move(c));
    return *gateway;
  }
  gateway_under_test& start() { return start(test_config(oppo.base_url())); }
  gateway_under_test& start_with_max_fresh(int seconds) {
    config c = test_config(oppo.base_url());
    c.fetch.max_fresh_s = seconds;
    return start(std::move(c));
  }

  std::string body(const std::string& big, const std::string& small = "") const {
    json request = json::object();
    if (!big.empty()) request["big_picture_url"] = origin.url(big);
    if (!small.empty()) request["small_picture_url"] = origin.url(small);
    return request.dump();
  }

  // A request that must succeed: its answer, parsed, and its X-Cache.
  json ok(const std::string& request_body, const std::string& cache) {
    const auto response = post_images(*gateway, request_body);
    EXPECT_EQ(response.status, 200) << response.body << response.error;
    EXPECT_EQ(response.header("x-cache"), cache) << response.body;
    return json::parse(response.body, nullptr, false);
  }

  double fetches(const std::string& outcome) {
    return gateway->api().metrics().fetches.value({outcome});
  }
  std::uint64_t uploads() { return oppo.api().stats().uploads_accepted; }

  // The "bytes_fetched" of the last request line in the log.
  long long last_bytes_fetched() {
    long long bytes = -1;
    std::istringstream in(gateway->log_output());
    for (std::string line; std::getline(in, line);) {
      const json parsed = json::parse(line, nullptr, false);
      if (!parsed.is_discarded() && parsed.value("msg", "") == "request") {
        bytes = parsed.value("bytes_fetched", -1LL);
      }
    }
    return bytes;
  }

  // The path answers with this ETag and Cache-Control, and 304 to its validators.
  void serve_cacheable(const std::string& path, const std::string& etag,
                       const std::string& cache_control) {
    origin.set_headers(path, {{"ETag", etag}, {"Cache-Control", cache_control}});
    origin.honour_validators(path);
  }

  fake_origin origin;
  fake_oppo_server oppo;
  std::unique_ptr<gateway_under_test> gateway;
};

TEST_F(RevalidationTest, StrongEtagIsSentAnd304AnswersFromTheCacheWithoutBytes) {
  origin.set_headers("/big.png", {{"ETag", "\"big-v1\""}});
  origin.set_headers("/small.png", {{"ETag", "\"small-v1\""}});
  origin.honour_validators("/big.png");
  origin.honour_validators("/small.png");
  start();
  const json first = ok(body("/big.png", "/small.png"), "miss");
  EXPECT_GT(last_bytes_fetched(), 0);
  const json second = ok(body("/big.png", "/small.png"), "hit");
  EXPECT_EQ(second, first);
  EXPECT_EQ(uploads(), 2u);
  EXPECT_EQ(origin.validators_seen("/big.png"),
            (std::vector<std::string>{"", "If-None-Match: \"big-v1\""}));
  EXPECT_EQ(origin.validators_seen("/small.png"),
            (std::vector<std::string>{"", "If-None-Match: \"small-v1\""}));
  EXPECT_EQ(fetches("not_modified"), 2);
  EXPECT_EQ(fetches("ok"), 2);
  EXPECT_EQ(last_bytes_fetched(), 0);  // a 304 hit transfers no image bytes
  // And again: the memo stays.
  ok(body("/big.png", "/small.png"), "hit");
  EXPECT_EQ(fetches("not_modified"), 4);
  EXPECT_NE(gateway->api().metrics().render().find(
                "image_gateway_fetches_total{outcome=\"not_modified\"} 4"),
            std::string::npos);
}

TEST_F(RevalidationTest, LastModifiedASecondOlderThanDateIsSentAsIfModifiedSince) {
  origin.set_headers("/big.png", {{"Last-Modified", an_hour_before}, {"Date", date}});
  origin.honour_validators("/big.png");
  start();
  ok(body("/big.png"), "miss");
  ok(body("/big.png"), "hit");
  EXPECT_EQ(origin.validators_seen("/big.png"),
            (std::vector<std::string>{"", std::string("If-Modified-Since: ") + an_hour_before}));
  EXPECT_EQ(fetches("not_modified"), 1);
}

TEST_F(RevalidationTest, LastModifiedInTheSameSecondAsDateIsNotAValidator) {
  origin.set_headers("/big.png", {{"Last-Modified", date}, {"Date", date}});
  origin.honour_validators("/big.png");
  start();
  ok(body("/big.png"), "miss");
  ok(body("/big.png"), "hit");  // from the hash of the bytes, fetched again in full
  EXPECT_EQ(origin.validators_seen("/big.png"), (std::vector<std::string>{"", ""}));
  EXPECT_EQ(fetches("not_modified"), 0);
  EXPECT_EQ(fetches("ok"), 2);
}

TEST_F(RevalidationTest, AWeakEtagAloneIsNeverSent) {
  origin.set_headers("/big.png", {{"ETag", "W/\"weak\""}});
  origin.honour_validators("/big.png");
  start();
  ok(body("/big.png"), "miss");
  ok(body("/big.png"), "hit");
  EXPECT_EQ(origin.validators_seen("/big.png"), (std::vector<std::string>{"", ""}));
  EXPECT_EQ(fetches("not_modified"), 0);
}

TEST_F(RevalidationTest, NoStoreAndPrivateAnswersAreNotRemembered) {
  origin.serve("/private.png", samples::png(984, 369, 203));
  origin.set_headers("/big.png", {{"ETag", "\"e1\""}, {"Cache-Control", "no-store"}});
  origin.set_headers("/private.png",
                     {{"ETag", "\"e2\""}, {"Cache-Control", "max-age=60, private"}});
  origin.honour_validators("/big.png");
  origin.honour_validators("/private.png");
  start();
  ok(body("/big.png"), "miss");
  ok(body("/big.png"), "hit");
  ok(body("/private.png"), "miss");
  ok(body("/private.png"), "hit");
  EXPECT_EQ(origin.validators_seen("/big.png"), (std::vector<std::string>{"", ""}));
  EXPECT_EQ(origin.validators_seen("/private.png"), (std::vector<std::string>{"", ""}));
}

TEST_F(RevalidationTest, NothingIsRememberedAfterARedirect) {
  origin.redirect("/moved.png", origin.url("/big.png"));
  origin.set_headers("/big.png", {{"ETag", "\"e1\""}});
  origin.honour_validators("/big.png");
  start();
  ok(body("/moved.png"), "miss");
  ok(body("/moved.png"), "hit");
  // Validators never went to the first hop nor, through it, to the second.
  EXPECT_EQ(origin.validators_seen("/moved.png"), (std::vector<std::string>{"", ""}));
  EXPECT_EQ(origin.validators_seen("/big.png"), (std::vector<std::string>{"", ""}));
}

TEST_F(RevalidationTest, ARevalidationAnsweredWithARedirectIsNotFollowedWithTheValidators) {
  origin.set_headers("/big.png", {{"ETag", "\"e1\""}});
  origin.honour_validators("/big.png");
  origin.serve("/elsewhere.png", samples::png(984, 369, 205));
  origin.set_headers("/elsewhere.png", {{"ETag", "\"e1\""}});
  origin.honour_validators("/elsewhere.png");
  start();
  ok(body("/big.png"), "miss");
  origin.redirect("/big.png", origin.url("/elsewhere.png"));
  ok(body("/big.png"), "miss");  // the redirect's target, fetched without validators
  EXPECT_EQ(origin.validators_seen("/big.png"),
            (std::vector<std::string>{"", "If-None-Match: \"e1\"", ""}));
  EXPECT_EQ(origin.validators_seen("/elsewhere.png"), (std::vector<std::string>{""}));
  EXPECT_EQ(uploads(), 2u);
}

TEST_F(RevalidationTest, A304ToARequestWithoutValidatorsIsAFailedFetch) {
  origin.serve("/liar.png", "", "image/png", 304);
  start();
  const auto response = post_images(*gateway, body("/liar.png"));
  expect_error(response, 400, 21003, "Parameter value is invalid",
               {"big_picture_url", "304 Not Modified", "without validators"});
  EXPECT_EQ(uploads(), 0u);
}

TEST_F(RevalidationTest, AChangedImageIsFetchedAndUploadedAgain) {
  origin.set_headers("/big.png", {{"ETag", "\"v1\""}});
  origin.honour_validators("/big.png");
  start();
  const json first = ok(body("/big.png"), "miss");
  // The origin now has another image under a new ETag: the old one does not match.
  origin.serve("/big.png", samples::png(984, 369, 204));
  origin.set_headers("/big.png", {{"ETag", "\"v2\""}});
  const json second = ok(body("/big.png"), "miss");
  EXPECT_NE(second.value("big_picture_id", ""), first.value("big_picture_id", ""));
  EXPECT_EQ(uploads(), 2u);
  // The new validators replaced the old ones.
  const json third = ok(body("/big.png"), "hit");
  EXPECT_EQ(third, second);
  EXPECT_EQ(origin.validators_seen("/big.png"),
            (std::vector<std::string>{"", "If-None-Match: \"v1\"", "If-None-Match: \"v2\""}));
}

TEST_F(RevalidationTest, ValidatorsAreSentOnlyWhenTheUploadCacheHasTheId) {
  // Two apps on two OPPO apps: the second app's cache has no id for the remembered digest.
  fake_oppo_server two_apps(
      {fake_oppo_server::default_oppo_app(), {"oppo-second", "second-secret"}});
  config c = test_config(two_apps.base_url());
  c.apps.push_back({"second-app", "second-app-secret", {"oppo-second", "second-secret"}, 0});
  origin.set_headers("/big.png", {{"ETag", "\"e1\""}});
  origin.honour_validators("/big.png");
  start(std::move(c));
  ok(body("/big.png"), "miss");
  const auto other = http_call("POST", gateway->url("/v4/image/oppo"), body("/big.png"),
                               {basic_header("second-app", "second-app-secret")});
  EXPECT_EQ(other.status, 200) << other.body;
  EXPECT_EQ(other.header("x-cache"), "miss");
  EXPECT_EQ(two_apps.api().stats().uploads_accepted, 2u);
  // The second app's fetch carried no validators: a 304 could not have given it an id.
  EXPECT_EQ(origin.validators_seen("/big.png"), (std::vector<std::string>{"", ""}));
  // Both apps now have ids: both revalidate.
  ok(body("/big.png"), "hit");
  EXPECT_EQ(origin.validators_seen("/big.png").back(), "If-None-Match: \"e1\"");
}

// A 304 stands for an id of the same fit only: the source uploaded as it came is not the
// picture a "contain" request wants (issue 12 with issue 10).
TEST_F(RevalidationTest, A304AnswersOnlyForTheSameFit) {
  origin.set_headers("/big.png", {{"ETag", "\"f1\""}});
  origin.honour_validators("/big.png");
  start();
  const json plain = ok(body("/big.png"), "miss");
  json contain_request = json::parse(body("/big.png"));
  contain_request["fit"] = "contain";
  contain_request["background"] = "#000000";
  // The same source with a fit: no validators (the cache has no id for that fit), a new upload.
  const json contained = ok(contain_request.dump(), "miss");
  EXPECT_NE(contained.at("big_picture_id"), plain.at("big_picture_id"));
  EXPECT_EQ(origin.validators_seen("/big.png"), (std::vector<std::string>{"", ""}));
  // Each again: revalidated, and each answered with its own id.
  EXPECT_EQ(ok(contain_request.dump(), "hit"), contained);
  EXPECT_EQ(ok(body("/big.png"), "hit"), plain);
  EXPECT_EQ(origin.validators_seen("/big.png").back(), "If-None-Match: \"f1\"");
  EXPECT_EQ(uploads(), 2u);
}

TEST_F(RevalidationTest, RevalidateFalseSendsNoValidators) {
  origin.set_headers("/big.png", {{"ETag", "\"e1\""}});
  origin.honour_validators("/big.png");
  config c = test_config(oppo.base_url());
  c.fetch.revalidate = false;
  start(std::move(c));
  ok(body("/big.png"), "miss");
  ok(body("/big.png"), "hit");
  EXPECT_EQ(origin.validators_seen("/big.png"), (std::vector<std::string>{"", ""}));
  EXPECT_EQ(fetches("not_modified"), 0);
}

TEST_F(RevalidationTest, WithTheUploadCacheOffNothingIsRemembered) {
  origin.set_headers("/big.png", {{"ETag", "\"e1\""}});
  origin.honour_validators("/big.png");
  config c = test_config(oppo.base_url());
  c.cache.max_entries = 0;
  start(std::move(c));
  ok(body("/big.png"), "miss");
  ok(body("/big.png"), "miss");
  EXPECT_EQ(origin.validators_seen("/big.png"), (std::vector<std::string>{"", ""}));
}

TEST_F(RevalidationTest, OneFetchPerUrlAtATime) {
  origin.set_headers("/big.png", {{"ETag", "\"e1\""}});
  origin.honour_validators("/big.png");
  config c = test_config(oppo.base_url());
  c.fetch.timeout = 20s;
  c.server.request_deadline = 30s;
  start(std::move(c));
  ok(body("/big.png"), "miss");
  // The origin now takes 2 s: requests arriving meanwhile wait for the one fetch in progress.
  origin.delay("/big.png", 2000ms);
  constexpr int callers = 6;
  std::vector<std::future<client_response>> answers;
  for (int i = 0; i < callers; ++i) {
    answers.push_back(
        std::async(std::launch::async, [&] { return post_images(*gateway, body("/big.png")); }));
  }
  for (auto& answer : answers) {
    const auto response = answer.get();
    EXPECT_EQ(response.status, 200) << response.body << response.error;
    EXPECT_EQ(response.header("x-cache"), "hit");
  }
  // One fetch for the first request, one (two, should a caller come late on a loaded
  // machine) for the rest; without sharing it would be 1 + callers.
  EXPECT_LE(origin.hits("/big.png"), 3u);
  EXPECT_LE(fetches("not_modified"), 2);
  EXPECT_EQ(uploads(), 1u);
}

// ---- freshness: answered from the upload cache with no origin contact ----------------------

TEST_F(RevalidationTest, WithinItsFreshnessAnImageIsAnsweredWithoutAskingTheOrigin) {
  serve_cacheable("/big.png", "\"b1\"", "max-age=3600");
  serve_cacheable("/small.png", "\"s1\"", "public, s-maxage=600");
  start();
  const json first = ok(body("/big.png", "/small.png"), "miss");
  EXPECT_EQ(origin.total_hits(), 2u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(ok(body("/big.png", "/small.png"), "hit"), first);
  EXPECT_EQ(origin.total_hits(), 2u);  // no request reached the origin after the first
  EXPECT_EQ(last_bytes_fetched(), 0);
  EXPECT_EQ(uploads(), 2u);
  EXPECT_EQ(fetches("fresh"), 6);
  EXPECT_EQ(fetches("not_modified"), 0);
  EXPECT_EQ(fetches("ok"), 2);
  EXPECT_NE(
      gateway->api().metrics().render().find("image_gateway_fetches_total{outcome=\"fresh\"} 6"),
      std::string::npos);
}

// One image fresh, the other to revalidate: the whole request takes the fetch stage, and the
// fresh one is counted once (the all-fresh answer looks before it counts).
TEST_F(RevalidationTest, OneFreshImageBesideAStaleOneIsCountedOnce) {
  serve_cacheable("/big.png", "\"b1\"", "max-age=3600");
  serve_cacheable("/small.png", "\"s1\"", "no-cache");
  start();
  const json first = ok(body("/big.png", "/small.png"), "miss");
  EXPECT_EQ(ok(body("/big.png", "/small.png"), "hit"), first);
  EXPECT_EQ(origin.hits("/big.png"), 1u);
  EXPECT_EQ(origin.hits("/small.png"), 2u);
  EXPECT_EQ(fetches("fresh"), 1);
  EXPECT_EQ(fetches("not_modified"), 1);
}

TEST_F(RevalidationTest, MaxAgeWithoutValidatorsIsFreshThenFetchedInFull) {
  origin.set_headers("/big.png", {{"Cache-Control", "max-age=1"}});
  origin.honour_validators("/big.png");
  start();
  const json first = ok(body("/big.png"), "miss");
  EXPECT_EQ(ok(body("/big.png"), "hit"), first);  // within the second
  EXPECT_EQ(origin.hits("/big.png"), 1u);         // no origin contact
  EXPECT_EQ(fetches("fresh"), 1);
  std::this_thread::sleep_for(1100ms);
  // Stale with nothing to revalidate with: fetched again as a new image, unconditionally.
  const auto again = post_images(*gateway, body("/big.png"));
  EXPECT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(origin.hits("/big.png"), 2u);
  EXPECT_EQ(origin.validators_seen("/big.png"), (std::vector<std::string>{"", ""}));
  EXPECT_EQ(fetches("ok"), 2);
  EXPECT_EQ(fetches("not_modified"), 0);
  EXPECT_GT(last_bytes_fetched(), 0);
  // And that fetch's max-age makes it fresh again.
  ok(body("/big.png"), "hit");
  EXPECT_EQ(origin.hits("/big.png"), 2u);
  EXPECT_EQ(fetches("fresh"), 2);
}

TEST_F(RevalidationTest, NoFreshnessAndNoValidatorsIsFetchedEveryTime) {
  origin.set_headers("/big.png", {{"Cache-Control", "public"}});
  start();
  ok(body("/big.png"), "miss");
  const auto again = post_images(*gateway, body("/big.png"));
  EXPECT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(origin.hits("/big.png"), 2u);
  EXPECT_EQ(fetches("fresh"), 0);
}

TEST_F(RevalidationTest, NoCacheIsRevalidatedWithA304) {
  serve_cacheable("/big.png", "\"b1\"", "no-cache, max-age=3600");
  start();
  ok(body("/big.png"), "miss");
  ok(body("/big.png"), "hit");
  EXPECT_EQ(origin.validators_seen("/big.png"),
            (std::vector<std::string>{"", "If-None-Match: \"b1\""}));
  EXPECT_EQ(fetches("not_modified"), 1);
  EXPECT_EQ(fetches("fresh"), 0);
}

TEST_F(RevalidationTest, MalformedFreshnessIsRevalidated) {
  serve_cacheable("/big.png", "\"b1\"", "max-age=3600, max-age=60");
  serve_cacheable("/small.png", "\"s1\"", "max-age=1h");
  start();
  ok(body("/big.png", "/small.png"), "miss");
  ok(body("/big.png", "/small.png"), "hit");
  EXPECT_EQ(origin.total_hits(), 4u);
  EXPECT_EQ(fetches("not_modified"), 2);
  EXPECT_EQ(fetches("fresh"), 0);
}

TEST_F(RevalidationTest, AnExpiredAnswerIsRevalidatedAndA304RenewsItsFreshness) {
  serve_cacheable("/big.png", "\"b1\"", "max-age=1");
  start();
  ok(body("/big.png"), "miss");
  ok(body("/big.png"), "hit");  // within the second
  EXPECT_EQ(origin.hits("/big.png"), 1u);
  std::this_thread::sleep_for(1100ms);
  ok(body("/big.png"), "hit");  // stale: revalidated
  EXPECT_EQ(origin.validators_seen("/big.png"),
            (std::vector<std::string>{"", "If-None-Match: \"b1\""}));
  EXPECT_EQ(fetches("not_modified"), 1);
  // The 304 said max-age=1 again: fresh for another second.
  ok(body("/big.png"), "hit");
  EXPECT_EQ(origin.hits("/big.png"), 2u);
  EXPECT_EQ(fetches("fresh"), 2);
}

TEST_F(RevalidationTest, MaxFreshCapsTheOriginsFreshness) {
  serve_cacheable("/big.png", "\"b1\"", "max-age=3600");
  start_with_max_fresh(1);
  ok(body("/big.png"), "miss");
  ok(body("/big.png"), "hit");
  EXPECT_EQ(fetches("fresh"), 1);
  std::this_thread::sleep_for(1100ms);
  ok(body("/big.png"), "hit");  // an hour by the origin, a second by the gateway
  EXPECT_EQ(fetches("not_modified"), 1);
  EXPECT_EQ(origin.hits("/big.png"), 2u);
}

TEST_F(RevalidationTest, MaxFreshZeroAlwaysRevalidates) {
  serve_cacheable("/big.png", "\"b1\"", "max-age=3600");
  start_with_max_fresh(0);
  ok(body("/big.png"), "miss");
  ok(body("/big.png"), "hit");
  ok(body("/big.png"), "hit");
  EXPECT_EQ(origin.hits("/big.png"), 3u);
  EXPECT_EQ(fetches("not_modified"), 2);
  EXPECT_EQ(fetches("fresh"), 0);
}

TEST_F(RevalidationTest, AnotherFitIsNeverAnsweredFromFreshness) {
  serve_cacheable("/big.png", "\"f1\"", "max-age=3600");
  start();
  const json plain = ok(body("/big.png"), "miss");
  json contain_request = json::parse(body("/big.png"));
  contain_request["fit"] = "contain";
  contain_request["background"] = "#000000";
  const json contained = ok(contain_request.dump(), "miss");  // fetched: not fresh for this fit
  EXPECT_EQ(origin.hits("/big.png"), 2u);
  EXPECT_EQ(ok(contain_request.dump(), "hit"), contained);  // fresh for "contain" now
  EXPECT_EQ(origin.hits("/big.png"), 2u);
  // The plain request's freshness went with the contain fetch's 200: revalidated, whose 304
  // makes it fresh for the plain request again.
  EXPECT_EQ(ok(body("/big.png"), "hit"), plain);
  EXPECT_EQ(origin.hits("/big.png"), 3u);
  EXPECT_EQ(origin.validators_seen("/big.png").back(), "If-None-Match: \"f1\"");
  EXPECT_EQ(ok(body("/big.png"), "hit"), plain);
  EXPECT_EQ(origin.hits("/big.png"), 3u);
  EXPECT_EQ(fetches("fresh"), 2);
}

TEST_F(RevalidationTest, AnotherOppoAppIsNeverAnsweredFromFreshness) {
  fake_oppo_server two_apps(
      {fake_oppo_server::default_oppo_app(), {"oppo-second", "second-secret"}});
  config c = test_config(two_apps.base_url());
  c.apps.push_back({"second-app", "second-app-secret", {"oppo-second", "second-secret"}, 0});
  serve_cacheable("/big.png", "\"e1\"", "max-age=3600");
  start(std::move(c));
  ok(body("/big.png"), "miss");
  const auto second_app = [&] {
    return http_call("POST", gateway->url("/v4/image/oppo"), body("/big.png"),
                     {basic_header("second-app", "second-app-secret")});
  };
  const auto other = second_app();
  EXPECT_EQ(other.status, 200) << other.body;
  EXPECT_EQ(other.header("x-cache"), "miss");
  EXPECT_EQ(origin.hits("/big.png"), 2u);
  EXPECT_EQ(second_app().header("x-cache"), "hit");  // fresh for the second app now
  EXPECT_EQ(origin.hits("/big.png"), 2u);
  EXPECT_EQ(fetches("fresh"), 1);
}

TEST_F(RevalidationTest, ARedirectIsNeverAnsweredFromFreshness) {
  origin.redirect("/moved.png", origin.url("/big.png"));
  origin.set_headers("/big.png", {{"ETag", "\"e1\""}, {"Cache-Control", "max-age=3600"}});
  start();
  ok(body("/moved.png"), "miss");
  ok(body("/moved.png"), "hit");  // from the hash of the bytes, fetched again through the hop
  EXPECT_EQ(origin.hits("/moved.png"), 2u);
  EXPECT_EQ(origin.hits("/big.png"), 2u);
  EXPECT_EQ(fetches("fresh"), 0);
}

}  // namespace
}  // namespace image_gateway::testing
