// One meaning for one input (issue 16): a request is read the way a filter in front of the
// gateway would read it, or refused. Percent-encoded hosts (also in redirects), duplicate JSON
// keys and percent-encoded query names, over real sockets against fakes that count what
// reached them; and the per-app share of the fit places.
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <nlohmann/json.hpp>
#include <thread>

#include "fakes/raw_origin.hpp"
#include "fakes/test_servers.hpp"
#include "image_gateway/metrics/metrics.hpp"
#include "image_gateway/util/sample_images.hpp"
#include "integration/error_assertions.hpp"

namespace image_gateway::testing {
namespace {

using nlohmann::json;

const std::string percent_host = "URL is malformed: the host contains percent-encoding";

// An origin that answers every connection with one picture and counts connections.
raw_origin::script serve_picture(std::string picture) {
  return [picture = std::move(picture)](origin_connection& c) {
    if (c.read_head().empty()) return;
    c.send(scripted_answer(200, "image/png", picture));
    c.wait_closed(5s);
  };
}

class RequestSemanticsTest : public ::testing::Test {
 protected:
  gateway_under_test& start(config c) {
    gateway = std::make_unique<gateway_under_test>(std::move(c));
    return *gateway;
  }
  gateway_under_test& start() { return start(test_config(oppo.base_url())); }

  client_response post(const std::string& body, const std::string& query = "") {
    return http_call("POST", gateway->url("/v4/image/oppo" + query), body,
                     {basic_header(test_app_key, test_app_secret)});
  }
  static std::string small_body(const std::string& url) {
    return json{{"small_picture_url", url}}.dump();
  }

  const std::string small_png = samples::png(144, 144, 161);
  fake_oppo_server oppo;
  fake_origin origin;
  std::unique_ptr<gateway_under_test> gateway;
};

// ---- item 5: a percent-encoded host of any kind, before any connection ----------------------

// The loopback origin is allowed (the test config allows 127.0.0.0/8): only the URL rule can
// keep these from it, since curl would decode each host to 127.0.0.1.
TEST_F(RequestSemanticsTest, PercentEncodedHostIsRefusedBeforeAnyConnection) {
  raw_origin target(serve_picture(small_png));
  const std::string port = std::to_string(target.port());
  start();
  for (const std::string& url :
       {"http://127.0.0.%31:" + port + "/s.png", "http://%31%32%37.0.0.1:" + port + "/s.png",
        "http://127%2e0%2e0%2e1:" + port + "/s.png", "http://2130706%343:" + port + "/s.png"}) {
    SCOPED_TRACE(url);
    const auto refused = post(small_body(url));
    const json error = expect_error(refused, 400, 21003, msg_invalid);
    EXPECT_EQ(error.value("detail", ""), "small_picture_url: " + percent_host);
  }
  EXPECT_EQ(target.connections(), 0U);
  // The same origin, written plainly, is fetched: the refusals above were the rule's.
  const auto served = post(small_body(target.url("/s.png")));
  EXPECT_EQ(served.status, 200) << served.body;
  EXPECT_EQ(target.connections(), 1U);
}

// A redirect's target passes the same rules before curl opens anything for it.
TEST_F(RequestSemanticsTest, RedirectToAPercentEncodedHostIsRefusedBeforeConnecting) {
  raw_origin target(serve_picture(small_png));
  const std::string port = std::to_string(target.port());
  origin.redirect("/encoded", "http://127.0.0.%31:" + port + "/s.png");
  origin.redirect("/scheme-relative", "//127.0.0.%31:" + port + "/s.png");
  origin.redirect("/localhost", "http://localhost:" + port + "/s.png");
  origin.redirect("/plain", target.url("/s.png"), 301);
  origin.serve("/here.png", small_png);
  origin.redirect("/relative", "/here.png", 307);
  start();

  struct row {
    std::string path;
    std::string reason;
  };
  for (const row& r : {row{"/encoded", percent_host}, row{"/scheme-relative", percent_host},
                       row{"/localhost", "host 'localhost' is not allowed"}}) {
    SCOPED_TRACE(r.path);
    const json error = expect_error(post(small_body(origin.url(r.path))), 400, 21003, msg_invalid);
    EXPECT_EQ(error.value("detail", ""), "small_picture_url: redirect refused: " + r.reason);
    EXPECT_EQ(origin.hits(r.path), 1U);
  }
  EXPECT_EQ(target.connections(), 0U);
  // Redirects the rules accept are followed as before.
  EXPECT_EQ(post(small_body(origin.url("/plain"))).status, 200);
  EXPECT_EQ(target.connections(), 1U);
  EXPECT_EQ(post(small_body(origin.url("/relative"))).status, 200);
  EXPECT_EQ(origin.hits("/here.png"), 1U);
}

// ---- item 8: a key given twice in the JSON body ---------------------------------------------

// A validator in front that keeps the first value passes the body for its first URL; the
// gateway must not fetch the second one instead: the body is refused, nothing is fetched.
TEST_F(RequestSemanticsTest, DuplicateKeysAreRefusedAndNothingIsFetched) {
  raw_origin blocked(serve_picture(small_png));
  origin.serve("/s.png", small_png);
  origin.serve("/b.png", samples::png(984, 369, 162));
  start();
  const std::string ok = origin.url("/s.png");
  struct row {
    std::string body;
    std::string key;
  };
  for (const row& r : {
           row{R"({"small_picture_url":")" + blocked.url("/s.png") + R"(","small_picture_url":")" +
                   ok + R"("})",
               "small_picture_url"},
           row{R"({"big_picture_url":")" + origin.url("/b.png") + R"(","big_picture_url":")" +
                   origin.url("/b.png") + R"("})",
               "big_picture_url"},
           row{R"({"small_picture_url":")" + ok + R"(","note":"a","note":"b"})", "note"},
           row{R"({"small_picture_url":")" + ok + R"(","meta":{"id":1,"id":2}})", "meta.id"},
       }) {
    SCOPED_TRACE(r.body);
    const json error = expect_error(post(r.body), 400, 21003, msg_invalid);
    EXPECT_EQ(error.value("detail", ""),
              "key \"" + r.key + "\" is given twice in the request body");
  }
  EXPECT_EQ(origin.total_hits(), 0U);
  EXPECT_EQ(blocked.connections(), 0U);
  EXPECT_EQ(oppo.api().stats().upload_requests, 0U);
  // Each key once: served.
  EXPECT_EQ(post(small_body(ok)).status, 200);
}

// ---- item 9: query names and values are percent-decoded -------------------------------------

TEST_F(RequestSemanticsTest, PercentEncodedDryRunIsADryRun) {
  origin.serve("/s.png", small_png);
  start();
  for (const std::string query : {"?dry%5Frun=true", "?dry_run=%74rue", "?%64ry%5frun=%31"}) {
    SCOPED_TRACE(query);
    const auto response = post(small_body(origin.url("/s.png")), query);
    ASSERT_EQ(response.status, 200) << response.body;
    const json answer = json::parse(response.body);
    EXPECT_TRUE(answer.contains("small_picture")) << response.body;  // the facts, not an id
    EXPECT_FALSE(answer.contains("small_picture_id")) << response.body;
  }
  EXPECT_EQ(oppo.api().stats().upload_requests, 0U);
  EXPECT_EQ(oppo.api().stats().auth_requests, 0U);
  // Spelled however, dry_run once.
  expect_error(post(small_body(origin.url("/s.png")), "?dry_run=1&dry%5Frun=1"), 400, 21003,
               msg_invalid, {"dry_run is given twice"});
  // A '%' that is not an escape: refused, nothing fetched or uploaded.
  const std::size_t fetched = origin.hits("/s.png");
  for (const std::string query : {"?dry_run=tru%e", "?dry%5run=true", "?x=100%&dry_run=1"}) {
    SCOPED_TRACE(query);
    expect_error(post(small_body(origin.url("/s.png")), query), 400, 21003, msg_invalid,
                 {"query string is malformed"});
  }
  EXPECT_EQ(origin.hits("/s.png"), fetched);
  EXPECT_EQ(oppo.api().stats().upload_requests, 0U);
  // Without the option, the same request uploads: the fake OPPO counts it.
  EXPECT_EQ(post(small_body(origin.url("/s.png"))).status, 200);
  EXPECT_EQ(oppo.api().stats().upload_requests, 1U);
}

// ---- fair fits: one app holds at most its share of the fit places ----------------------------

TEST_F(RequestSemanticsTest, OneAppCannotHoldEveryFitPlace) {
  config c = test_config(oppo.base_url());
  c.apps.push_back({"other-app", "other-secret", fake_oppo_server::default_oppo_app(), 0});
  c.images.fit.max_inflight = 2;  // the default share: half, 1 place per app
  c.server.request_deadline = std::chrono::seconds(60);
  c.fetch.timeout = std::chrono::seconds(20);
  // Slow, but under the fetcher's low-speed rule (3 s without data ends a transfer).
  origin.serve("/slow.png", samples::png(1968, 738, 163));
  origin.delay("/slow.png", std::chrono::milliseconds(2500));
  origin.serve("/big.png", samples::png(492, 185, 164));
  auto& gw = start(std::move(c));
  const auto fit_body = [&](const std::string& path) {
    return json{{"big_picture_url", origin.url(path)}, {"fit", "contain"}}.dump();
  };

  // App A's first fit holds its one place while its source is slow to come.
  std::future<client_response> first =
      std::async(std::launch::async, [&] { return post(fit_body("/slow.png")); });
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (origin.hits("/slow.png") == 0 && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_EQ(origin.hits("/slow.png"), 1U);
  // A's second fit: over its share, answered like a full gateway, with Retry-After.
  const auto refused = post(fit_body("/big.png"));
  expect_error(refused, 503, 27000, msg_timeout,
               {"app test-app", "share of 1", "images.fit.max_inflight_per_app"});
  EXPECT_EQ(refused.header("retry-after"), "1");
  EXPECT_EQ(origin.hits("/big.png"), 0U);
  // App B still gets the free place and is fitted.
  const auto other = http_call("POST", gw.url("/v4/image/oppo"), fit_body("/big.png"),
                               {basic_header("other-app", "other-secret")});
  EXPECT_EQ(other.status, 200) << other.body;
  EXPECT_TRUE(json::parse(other.body, nullptr, false).contains("big_picture_id")) << other.body;
  EXPECT_EQ(first.get().status, 200);
  // A's place is free again.
  EXPECT_EQ(post(fit_body("/big.png")).status, 200);
  EXPECT_EQ(gw.api().metrics().shed.value({"fit_max_inflight_per_app"}), 1.0);
  EXPECT_EQ(gw.api().metrics().shed.value({"fit_max_inflight"}), 0.0);
}

}  // namespace
}  // namespace image_gateway::testing
