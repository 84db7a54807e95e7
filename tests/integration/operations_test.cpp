// Production operations against the real server on 127.0.0.1:0: metrics, request ids, logs
// without secrets, shedding, rate limits, OPPO retries, the circuit breaker, the egress proxy.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstdlib>
#include <future>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <thread>

#include "fakes/test_servers.hpp"
#include "image_gateway/metrics/metrics.hpp"
#include "image_gateway/util/sample_images.hpp"
#include "image_gateway/util/strings.hpp"

namespace image_gateway::testing {
namespace {

namespace net = boost::asio;
using nlohmann::json;
using namespace std::chrono_literals;

// ---- helpers ----

// GET /metrics as {"name{labels}": value}; fails the test on a line that is not exposition.
std::map<std::string, double> scrape(const gateway_under_test& gw) {
  const auto response = http_call("GET", gw.url("/metrics"));
  EXPECT_EQ(response.status, 200) << response.error;
  EXPECT_EQ(response.header("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  static const std::regex comment(R"(# (HELP|TYPE) image_gateway_[a-z_]+ .+)");
  static const std::regex sample(
      R"((image_gateway_[a-z_]+(\{([a-z_]+="([^"\\]|\\.)*",?)*\})?) (-?[0-9.e+-]+|\+Inf))");
  std::map<std::string, double> values;
  std::istringstream in(response.body);
  for (std::string line; std::getline(in, line);) {
    std::smatch m;
    if (std::regex_match(line, m, comment)) continue;
    if (!std::regex_match(line, m, sample)) {
      ADD_FAILURE() << "not exposition: '" << line << "'";
      continue;
    }
    values[m[1]] = m[5] == "+Inf" ? 1e300 : std::stod(m[5]);
  }
  return values;
}

double metric(const std::map<std::string, double>& values, const std::string& key) {
  const auto found = values.find(key);
  return found == values.end() ? 0 : found->second;
}

std::vector<json> log_lines(const std::string& text) {
  std::vector<json> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    const json parsed = json::parse(line, nullptr, false);
    EXPECT_FALSE(parsed.is_discarded()) << "log line is not JSON: " << line;
    if (parsed.is_discarded()) continue;
    EXPECT_TRUE(parsed.contains("time") && parsed.contains("level") && parsed.contains("msg"))
        << line;
    lines.push_back(parsed);
  }
  return lines;
}

int error_code(const client_response& response) {
  const json body = json::parse(response.body, nullptr, false);
  if (body.is_discarded() || !body.contains("error")) return 0;
  return body["error"].value("code", 0);
}

std::string error_detail(const client_response& response) {
  const json body = json::parse(response.body, nullptr, false);
  if (body.is_discarded() || !body.contains("error")) return "";
  return body["error"].value("detail", "");
}

// fake_oppo behind a switch: uploads answer HTTP 503 (an HTML page) while `failing`, auth is
// always served. Counts the upload requests that reached it.
class flaky_oppo {
 public:
  flaky_oppo() : api_(oppo::fake_oppo::options{{fake_oppo_server::default_oppo_app()}}) {
    http_server::hooks hooks;
    hooks.handle = [this](api_request request) { return answer(std::move(request)); };
    server_limits limits;
    limits.max_body_bytes = 4 * 1024 * 1024;
    limits.max_body_multipart_bytes = limits.max_body_bytes;
    server_ = std::make_unique<loopback_server>(std::move(hooks), limits, 2);
  }

  std::string base_url() const { return server_->base_url(); }
  void fail_uploads(int count) { failing_ = count; }  // negative: until told otherwise
  std::size_t upload_hits() const { return upload_hits_; }
  oppo::fake_oppo& api() { return api_; }

 private:
  net::awaitable<api_response> answer(api_request request) {
    if (request.path.find("/media/upload/") != std::string::npos) {
      ++upload_hits_;
      if (failing_ != 0) {
        if (failing_ > 0) --failing_;
        co_return api_response{503, "text/html", {}, "<html>503 Service Unavailable</html>"};
      }
    }
    co_return api_.handle(request).response;
  }

  oppo::fake_oppo api_;
  std::atomic<int> failing_{0};
  std::atomic<std::size_t> upload_hits_{0};
  std::unique_ptr<loopback_server> server_;
};

// A plain-HTTP forward proxy: forwards what it is sent with a blocking curl call and records
// every URL it saw. (curl sends a proxy absolute-form targets; the server hands the handler their
// path and query, and the authority is the Host header's.)
class forward_proxy {
 public:
  forward_proxy() {
    http_server::hooks hooks;
    hooks.handle = [this](api_request request) { return forward(std::move(request)); };
    server_limits limits;
    limits.max_body_bytes = 4 * 1024 * 1024;
    limits.max_body_multipart_bytes = limits.max_body_bytes;
    server_ = std::make_unique<loopback_server>(std::move(hooks), limits, 2);
  }

  std::string url() const { return server_->base_url(); }
  std::vector<std::string> targets() const {
    std::lock_guard lock(mutex_);
    return targets_;
  }

 private:
  net::awaitable<api_response> forward(api_request request) {
    const std::string url = "http://" + std::string(request.header("host")) + request.target;
    {
      std::lock_guard lock(mutex_);
      targets_.push_back(url);
    }
    std::vector<std::string> headers;
    for (const auto& [name, value] : request.headers) {
      if (name == "host" || name == "content-length" || name == "connection" ||
          name == "proxy-connection" || name == "keep-alive" || name == "expect" ||
          name == "transfer-encoding") {
        continue;
      }
      headers.push_back(name + ": " + value);
    }
    headers.push_back("Expect:");
    const client_response upstream = http_call(request.method, url, request.body, headers);
    if (upstream.status == 0) co_return api_response{502, "text/plain", {}, upstream.error};
    co_return api_response{
        static_cast<int>(upstream.status), upstream.header("content-type"), {}, upstream.body};
  }

  mutable std::mutex mutex_;
  std::vector<std::string> targets_;
  std::unique_ptr<loopback_server> server_;
};

class OperationsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    origin.serve("/big.png", samples::png(984, 369, 21));
    origin.serve("/small.png", samples::png(144, 144, 22));
    origin.serve("/wrong-size.png", samples::png(1000, 400, 23));
    origin.serve("/slow.png", samples::png(984, 369, 24));
    origin.delay("/slow.png", 1500ms);
    for (int i = 0; i < 4; ++i)
      origin.serve("/big-" + std::to_string(i) + ".png", samples::png(984, 369, 30 + i));
  }

  gateway_under_test& start(config settings) {
    gateway = std::make_unique<gateway_under_test>(std::move(settings));
    return *gateway;
  }
  gateway_under_test& start() { return start(test_config(oppo.base_url())); }

  std::string body(const std::string& big, const std::string& small = "") {
    json request = json::object();
    if (!big.empty()) request["big_picture_url"] = origin.url(big);
    if (!small.empty()) request["small_picture_url"] = origin.url(small);
    return request.dump();
  }

  fake_origin origin;
  fake_oppo_server oppo;
  std::unique_ptr<gateway_under_test> gateway;
};

// ---- 1. metrics ----

TEST_F(OperationsTest, MetricsCountersMoveAfterRequests) {
  auto& gw = start();
  ASSERT_EQ(post_images(gw, body("/big.png", "/small.png")).status, 200);
  const auto again = post_images(gw, body("/big.png", "/small.png"));
  ASSERT_EQ(again.status, 200);
  EXPECT_EQ(again.header("x-cache"), "hit");
  const auto unauthorized = http_call("POST", gw.url("/v4/image/oppo"), body("/big.png"),
                                      {basic_header(test_app_key, "wrong")});
  ASSERT_EQ(unauthorized.status, 401);
  const auto bad_size = post_images(gw, body("/wrong-size.png"));
  ASSERT_EQ(bad_size.status, 200);
  ASSERT_EQ(error_code(bad_size), 51);

  const auto m = scrape(gw);
  EXPECT_EQ(metric(m, R"(image_gateway_requests_total{code="0",status="200"})"), 2);
  EXPECT_EQ(metric(m, R"(image_gateway_requests_total{code="23001",status="401"})"), 1);
  EXPECT_EQ(metric(m, R"(image_gateway_requests_total{code="51",status="200"})"), 1);
  EXPECT_EQ(metric(m, R"(image_gateway_request_duration_seconds_count{route="image"})"), 4);
  EXPECT_EQ(metric(m, R"(image_gateway_request_duration_seconds_bucket{route="image",le="+Inf"})"),
            4);
  EXPECT_EQ(metric(m, "image_gateway_requests_in_flight"), 0);
  // The scrape itself runs on an open connection.
  EXPECT_GE(metric(m, "image_gateway_connections_open"), 1);
  EXPECT_EQ(metric(m, R"(image_gateway_upload_cache_lookups_total{result="miss"})"), 2);
  EXPECT_EQ(metric(m, R"(image_gateway_upload_cache_lookups_total{result="hit"})"), 2);
  EXPECT_EQ(metric(m, "image_gateway_upload_cache_entries"), 2);
  EXPECT_EQ(metric(m, R"(image_gateway_fetches_total{outcome="ok"})"), 5);
  EXPECT_GT(metric(m, "image_gateway_fetched_bytes_total"), 0);
  EXPECT_EQ(metric(m, "image_gateway_fetch_duration_seconds_count"), 5);
  EXPECT_EQ(metric(m, R"(image_gateway_oppo_calls_total{endpoint="auth",outcome="ok"})"), 1);
  EXPECT_EQ(metric(m, R"(image_gateway_oppo_calls_total{endpoint="upload",outcome="ok"})"), 2);
  EXPECT_EQ(metric(m, R"(image_gateway_oppo_call_duration_seconds_count{endpoint="upload"})"), 2);
  EXPECT_EQ(metric(m, R"(image_gateway_oppo_call_duration_seconds_count{endpoint="auth"})"), 1);
  EXPECT_EQ(metric(m, R"(image_gateway_oppo_token_refreshes_total{outcome="ok"})"), 1);
  EXPECT_EQ(metric(m, R"(image_gateway_oppo_circuit_open{endpoint="upload"})"), 0);
  EXPECT_EQ(metric(m, R"(image_gateway_build_info{version=")" IMAGE_GATEWAY_VERSION R"("})"), 1);
}

TEST_F(OperationsTest, OppoConnectionsAreReused) {
  auto& gw = start();
  for (int i = 0; i < 4; ++i) {
    ASSERT_EQ(post_images(gw, body("/big-" + std::to_string(i) + ".png")).status, 200);
  }
  const auto m = scrape(gw);
  const double uploads =
      metric(m, R"(image_gateway_oppo_calls_total{endpoint="upload",outcome="ok"})");
  ASSERT_EQ(uploads, 4);
  // Sequential uploads to one host share a kept-alive connection.
  EXPECT_LT(metric(m, R"(image_gateway_oppo_connections_opened_total{endpoint="upload"})"),
            uploads);
}

// oppo.max_connections caps the connections per OPPO host: uploads over it wait for one.
TEST_F(OperationsTest, OppoConnectionsStayWithinTheirCap) {
  config settings = test_config(oppo.base_url());
  settings.oppo.max_connections = 2;
  oppo.api().set_delay(150ms);  // so that the four uploads overlap
  auto& gw = start(settings);
  std::vector<std::future<client_response>> calls;
  for (int i = 0; i < 4; ++i) {
    calls.push_back(std::async(std::launch::async, [&, i] {
      return post_images(gw, body("/big-" + std::to_string(i) + ".png"));
    }));
  }
  for (auto& call : calls) EXPECT_EQ(call.get().status, 200);
  const auto m = scrape(gw);
  EXPECT_EQ(metric(m, R"(image_gateway_oppo_calls_total{endpoint="upload",outcome="ok"})"), 4);
  EXPECT_LE(metric(m, R"(image_gateway_oppo_connections_opened_total{endpoint="upload"})"), 2);
}

// ---- 4. request ids ----

TEST_F(OperationsTest, SaneRequestIdIsEchoedOnEveryAnswerAndLogged) {
  auto& gw = start();
  const std::string id = "trace-42.abc_DEF";
  const std::string header = "X-Request-Id: " + id;
  EXPECT_EQ(post_images(gw, body("/big.png"), {header}).header("x-request-id"), id);
  EXPECT_EQ(http_call("POST", gw.url("/v4/image/oppo"), "{}", {header}).header("x-request-id"), id);
  EXPECT_EQ(http_call("GET", gw.url("/nowhere"), "", {header}).header("x-request-id"), id);
  EXPECT_EQ(http_call("GET", gw.url("/healthz"), "", {header}).header("x-request-id"), id);
  EXPECT_EQ(http_call("GET", gw.url("/metrics"), "", {header}).header("x-request-id"), id);

  int logged = 0;
  for (const json& line : log_lines(gw.log_output())) {
    if (line.value("msg", "") == "request") {
      EXPECT_EQ(line.value("request_id", ""), id) << line.dump();
      ++logged;
    }
  }
  EXPECT_EQ(logged, 5);
}

TEST_F(OperationsTest, InsaneRequestIdIsReplaced) {
  auto& gw = start();
  const std::regex generated("[0-9a-f]{32}");
  for (const std::string& bad : {std::string("has space"), std::string(129, 'a'),
                                 std::string("semi;colon"), std::string("q\"uote")}) {
    const auto response = http_call("GET", gw.url("/healthz"), "", {"X-Request-Id: " + bad});
    const std::string echoed = response.header("x-request-id");
    EXPECT_NE(echoed, bad);
    EXPECT_TRUE(std::regex_match(echoed, generated)) << echoed;
  }
  const auto a = http_call("GET", gw.url("/healthz"));
  const auto b = http_call("GET", gw.url("/healthz"));
  EXPECT_TRUE(std::regex_match(a.header("x-request-id"), generated));
  EXPECT_NE(a.header("x-request-id"), b.header("x-request-id"));
  const std::string longest(128, 'z');
  EXPECT_EQ(
      http_call("GET", gw.url("/healthz"), "", {"X-Request-Id: " + longest}).header("x-request-id"),
      longest);
}

// Route, authentication and rate limit are decided on the header alone (screen), in that
// order; what the server refuses after it (here an oversized body) is the body's size.
TEST_F(OperationsTest, RefusalKeepsTheOrderOfChecks) {
  config settings = test_config(oppo.base_url());
  settings.apps[0].rate_limit_per_s = 0.1;
  auto& gw = start(settings);
  const auto header_of = [&](std::string path, std::string password) {
    api_request partial;
    partial.method = "POST";
    partial.target = path;
    partial.path = path;
    partial.remote_address = "127.0.0.1:1";
    partial.headers = {{"authorization", basic_header(test_app_key, password).substr(15)},
                       {"x-request-id", "refused-1"}};
    return partial;
  };
  const auto screen = [&](std::string path, std::string password) {
    api_request header = header_of(std::move(path), std::move(password));
    return std::get<std::optional<api_response>>(gw.api().screen(header));
  };
  const auto header = [](const api_response& r, const std::string& name) {
    for (const auto& [n, v] : r.headers) {
      if (n == name) return v;
    }
    return std::string();
  };
  const auto code = [](const api_response& r) {
    return json::parse(r.body)["error"].value("code", 0);
  };

  const auto unknown = screen("/nowhere", test_app_secret);
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 404);
  EXPECT_EQ(code(*unknown), 21001);
  const auto unauthorized = screen("/v4/image/oppo", "wrong");
  ASSERT_TRUE(unauthorized);
  EXPECT_EQ(unauthorized->status, 401);
  EXPECT_EQ(code(*unauthorized), 23001);
  EXPECT_EQ(header(*unauthorized, "WWW-Authenticate"), "Basic realm=\"image-gateway\"");
  api_request admitted = header_of("/v4/image/oppo", test_app_secret);
  EXPECT_FALSE(std::get<std::optional<api_response>>(gw.api().screen(admitted)));  // one token
  EXPECT_TRUE(admitted.admission);
  const auto too_large = gw.api().refuse(413, admitted);
  EXPECT_EQ(too_large.status, 413);
  EXPECT_EQ(code(too_large), 21003);
  EXPECT_EQ(header(too_large, "X-Request-Id"), "refused-1");
  const auto limited = screen("/v4/image/oppo", test_app_secret);  // the one token is spent
  ASSERT_TRUE(limited);
  EXPECT_EQ(limited->status, 429);
  EXPECT_EQ(code(*limited), 2002);
  EXPECT_FALSE(header(*limited, "Retry-After").empty());
  EXPECT_EQ(header(*limited, "X-Rate-Limit-Limit"), "0.1");
  // Without a header there is nothing to check but the size.
  api_request nothing;
  EXPECT_EQ(gw.api().refuse(413, nothing).status, 413);

  const auto m = scrape(gw);
  EXPECT_EQ(metric(m, R"(image_gateway_requests_total{code="21003",status="413"})"), 2);
  EXPECT_EQ(metric(m, R"(image_gateway_requests_total{code="23001",status="401"})"), 1);
}

// ---- 3. logs ----

TEST_F(OperationsTest, LogLinesAreJsonAndCarryNoSecret) {
  auto& gw = start();
  ASSERT_EQ(post_images(gw, body("/big.png", "/small.png")).status, 200);
  const std::string token = oppo.api().stats().last_upload_token;
  ASSERT_FALSE(token.empty());
  const std::string wrong_password = "wrong-password-Q7x";
  EXPECT_EQ(http_call("POST", gw.url("/v4/image/oppo"), body("/big.png"),
                      {basic_header(test_app_key, wrong_password)})
                .status,
            401);
  EXPECT_EQ(http_call("POST", gw.url("/v4/image/oppo"), body("/big.png"),
                      {"Authorization: Bearer " + token})
                .status,
            401);
  EXPECT_EQ(post_images(gw, body("/wrong-size.png")).status, 200);

  const std::string output = gw.log_output();
  const auto lines = log_lines(output);
  int requests = 0;
  for (const json& line : lines) {
    if (line.value("msg", "") != "request") continue;
    ++requests;
    for (const char* field : {"request_id", "remote", "app_key", "method", "path", "status", "code",
                              "duration_ms", "cache", "bytes_fetched", "upstream_ms"}) {
      EXPECT_TRUE(line.contains(field)) << field << " missing in " << line.dump();
    }
  }
  EXPECT_EQ(requests, 4);
  const auto first = *std::find_if(lines.begin(), lines.end(),
                                   [](const json& l) { return l.value("msg", "") == "request"; });
  EXPECT_EQ(first.value("app_key", ""), test_app_key);
  EXPECT_EQ(first.value("cache", ""), "miss");
  EXPECT_GT(first.value("bytes_fetched", 0), 0);

  const std::string auth_value = basic_header(test_app_key, test_app_secret).substr(15);
  for (const std::string& secret :
       {std::string(test_app_secret), fake_oppo_server::default_oppo_app().master_secret, token,
        wrong_password, auth_value,
        base64_encode(std::string(test_app_key) + ":" + wrong_password)}) {
    EXPECT_EQ(output.find(secret), std::string::npos) << "'" << secret << "' logged";
  }
}

TEST_F(OperationsTest, OppoCredentialProblemIsAWarningWithoutSecrets) {
  config settings = test_config(oppo.base_url());
  settings.apps[0].oppo.master_secret = "not-the-oppo-secret-9z";
  auto& gw = start(settings);
  const auto response = post_images(gw, body("/big.png"), {"X-Request-Id: cred-check-1"});
  ASSERT_EQ(response.status, 500);
  EXPECT_EQ(error_code(response), 23100);

  const std::string output = gw.log_output();
  bool warned = false;
  for (const json& line : log_lines(output)) {
    if (line.value("level", "") == "warn" &&
        line.value("msg", "").find("credentials") != std::string::npos) {
      warned = true;
      EXPECT_EQ(line.value("request_id", ""), "cred-check-1");
      EXPECT_EQ(line.value("app_key", ""), test_app_key);
      EXPECT_NE(line.value("detail", "").find("code 16"), std::string::npos) << line.dump();
    }
  }
  EXPECT_TRUE(warned) << output;
  EXPECT_EQ(output.find("not-the-oppo-secret-9z"), std::string::npos);
  EXPECT_EQ(output.find(test_app_secret), std::string::npos);
  const auto m = scrape(gw);
  EXPECT_EQ(metric(m, R"(image_gateway_oppo_calls_total{endpoint="auth",outcome="credentials"})"),
            1);
  EXPECT_EQ(metric(m, R"(image_gateway_oppo_token_refreshes_total{outcome="failed"})"), 1);
}

// ---- 5. shedding ----

TEST_F(OperationsTest, BeyondMaxInflightAnswers503AtOnce) {
  config settings = test_config(oppo.base_url());
  settings.server.max_inflight = 1;
  auto& gw = start(settings);
  auto slow = std::async(std::launch::async, [&] { return post_images(gw, body("/slow.png")); });
  for (int i = 0; i < 500 && gw.api().metrics().in_flight.value() < 1; ++i) {
    std::this_thread::sleep_for(10ms);
  }
  ASSERT_EQ(gw.api().metrics().in_flight.value(), 1);

  const auto shed = post_images(gw, body("/big.png"));
  EXPECT_EQ(shed.status, 503);
  EXPECT_EQ(error_code(shed), 27000);
  EXPECT_EQ(shed.header("retry-after"), "1");
  EXPECT_FALSE(shed.header("x-request-id").empty());
  // Answered while the slow one still runs: refused, not queued behind it.
  EXPECT_NE(slow.wait_for(0ms), std::future_status::ready);
  EXPECT_EQ(http_call("GET", gw.url("/healthz")).status, 200);  // health is never shed
  EXPECT_EQ(origin.hits("/big.png"), 0U);                       // no work was done for it

  EXPECT_EQ(slow.get().status, 200);
  EXPECT_EQ(post_images(gw, body("/big.png")).status, 200);  // the place is free again
  const auto m = scrape(gw);
  EXPECT_EQ(metric(m, R"(image_gateway_requests_shed_total{reason="max_inflight"})"), 1);
  EXPECT_EQ(metric(m, R"(image_gateway_requests_total{code="27000",status="503"})"), 1);
}

// ---- 6. rate limits ----

TEST_F(OperationsTest, RateLimitedAppGetsHeadersAnd429) {
  config settings = test_config(oppo.base_url());
  settings.apps[0].rate_limit_per_s = 0.1;  // one request, then one every 10 s
  settings.apps.push_back({"free-app", "free-secret", fake_oppo_server::default_oppo_app(), 0});
  auto& gw = start(settings);

  const auto first = post_images(gw, "{}");
  EXPECT_EQ(first.status, 400);  // 23002: over the limit is checked before the body
  EXPECT_EQ(first.header("x-rate-limit-limit"), "0.1");
  EXPECT_EQ(first.header("x-rate-limit-remaining"), "0");
  EXPECT_EQ(first.header("x-rate-limit-reset"), "10");

  const auto second = post_images(gw, body("/big.png"));
  EXPECT_EQ(second.status, 429);
  EXPECT_EQ(error_code(second), 2002);
  const json answer = json::parse(second.body);
  EXPECT_EQ(answer["error"]["message"], "Rate limit exceeded");
  EXPECT_EQ(second.header("x-rate-limit-limit"), "0.1");
  EXPECT_EQ(second.header("x-rate-limit-remaining"), "0");
  EXPECT_FALSE(second.header("x-rate-limit-reset").empty());
  const int retry_after = std::atoi(second.header("retry-after").c_str());
  EXPECT_GE(retry_after, 1);
  EXPECT_LE(retry_after, 10);
  EXPECT_EQ(origin.hits("/big.png"), 0U);

  // An app without a limit gets no rate headers.
  const auto free =
      http_call("POST", gw.url("/v4/image/oppo"), "{}", {basic_header("free-app", "free-secret")});
  EXPECT_EQ(free.status, 400);
  EXPECT_EQ(free.header("x-rate-limit-limit"), "");
  const auto m = scrape(gw);
  EXPECT_EQ(metric(m, R"(image_gateway_rate_limited_total{app="test-app"})"), 1);
  EXPECT_EQ(metric(m, R"(image_gateway_requests_total{code="2002",status="429"})"), 1);
}

// ---- 7. upstream resilience ----

TEST_F(OperationsTest, TransientOppoCodesAreRetried) {
  auto& gw = start();  // oppo.retries 2
  oppo.api().script_upload_codes({13, -1});
  const auto response = post_images(gw, body("/big.png"));
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(oppo.api().stats().upload_requests, 3U);
  EXPECT_EQ(oppo.api().stats().uploads_accepted, 1U);
  const auto m = scrape(gw);
  EXPECT_EQ(metric(m, R"(image_gateway_oppo_calls_total{endpoint="upload",outcome="throttled"})"),
            2);
  EXPECT_EQ(metric(m, R"(image_gateway_oppo_calls_total{endpoint="upload",outcome="ok"})"), 1);
}

TEST_F(OperationsTest, RetriesStopAtTheBudget) {
  auto& gw = start();
  oppo.api().script_upload_codes({55, 55, 55, 55});
  const auto response = post_images(gw, body("/big.png"));
  EXPECT_EQ(response.status, 500);
  EXPECT_EQ(error_code(response), 27000);
  EXPECT_EQ(oppo.api().stats().upload_requests, 3U);  // the attempt and 2 retries
}

TEST_F(OperationsTest, BusinessCodesAreNotRetried) {
  auto& gw = start();
  oppo.api().script_upload_codes({34});
  const auto response = post_images(gw, body("/big.png"));
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(error_code(response), 51);
  EXPECT_EQ(json::parse(response.body)["error"]["upstream"]["code"], 34);
  EXPECT_EQ(oppo.api().stats().upload_requests, 1U);
}

TEST_F(OperationsTest, Http5xxIsRetried) {
  flaky_oppo flaky;
  flaky.fail_uploads(2);
  auto& gw = start(test_config(flaky.base_url()));
  const auto response = post_images(gw, body("/big.png"));
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(flaky.upload_hits(), 3U);
  const auto m = scrape(gw);
  EXPECT_EQ(metric(m, R"(image_gateway_oppo_calls_total{endpoint="upload",outcome="http_5xx"})"),
            2);
}

TEST_F(OperationsTest, CircuitBreakerOpensFailsFastAndRecovers) {
  flaky_oppo flaky;
  flaky.fail_uploads(-1);
  config settings = test_config(flaky.base_url());
  settings.oppo.retries = 0;       // one upload call per request
  settings.oppo.timeout = 1000ms;  // the breaker stays open this long
  auto& gw = start(settings);
  for (int i = 0; i < 5; ++i) {
    const auto failed = post_images(gw, body("/big.png"));
    EXPECT_EQ(failed.status, 500);
    EXPECT_EQ(error_code(failed), 27000);
  }
  EXPECT_EQ(flaky.upload_hits(), 5U);

  const auto fast = post_images(gw, body("/big.png"));
  EXPECT_EQ(fast.status, 500);
  EXPECT_EQ(error_code(fast), 27000);
  EXPECT_NE(error_detail(fast).find("OPPO circuit open"), std::string::npos) << fast.body;
  EXPECT_EQ(flaky.upload_hits(), 5U);  // failed fast: OPPO never saw it
  auto m = scrape(gw);
  EXPECT_EQ(metric(m, R"(image_gateway_oppo_circuit_open{endpoint="upload"})"), 1);
  EXPECT_EQ(
      metric(m, R"(image_gateway_oppo_calls_total{endpoint="upload",outcome="circuit_open"})"), 1);

  flaky.fail_uploads(0);
  std::this_thread::sleep_for(1100ms);  // past the cool-down: the next call is the probe
  const auto recovered = post_images(gw, body("/big.png"));
  EXPECT_EQ(recovered.status, 200) << recovered.body;
  EXPECT_EQ(flaky.upload_hits(), 6U);
  m = scrape(gw);
  EXPECT_EQ(metric(m, R"(image_gateway_oppo_circuit_open{endpoint="upload"})"), 0);
}

// ---- 8. egress proxy ----

TEST_F(OperationsTest, ProxyCarriesOppoCallsOnly) {
  forward_proxy proxy;
  config settings = test_config(oppo.base_url());
  settings.oppo.proxy = proxy.url();
  auto& gw = start(settings);
  // Proxy variables in the environment must not matter to either client.
  ::setenv("http_proxy", proxy.url().c_str(), 1);
  ::setenv("HTTP_PROXY", proxy.url().c_str(), 1);
  const auto response = post_images(gw, body("/big.png", "/small.png"));
  ::unsetenv("http_proxy");
  ::unsetenv("HTTP_PROXY");
  ASSERT_EQ(response.status, 200) << response.body;

  const auto targets = proxy.targets();
  ASSERT_EQ(targets.size(), 3U);  // auth, two uploads
  for (const auto& target : targets) {
    EXPECT_TRUE(target.starts_with(oppo.base_url() + "/server/v1/")) << target;
  }
  EXPECT_EQ(std::count(targets.begin(), targets.end(), oppo.base_url() + "/server/v1/auth"), 1);
  EXPECT_EQ(origin.hits("/big.png"), 1U);  // fetched directly
  EXPECT_EQ(origin.hits("/small.png"), 1U);
  EXPECT_EQ(oppo.api().stats().uploads_accepted, 2U);
}

}  // namespace
}  // namespace image_gateway::testing
