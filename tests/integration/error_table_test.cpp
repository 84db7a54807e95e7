// The error table of docs/api.md#errors row by row: the real gateway on 127.0.0.1:0 against a fake
// OPPO and a fake image origin, over real sockets. Every test asserts the exact code, message and
// HTTP status, that the detail names what was wrong, and the headers the row requires.
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <nlohmann/json.hpp>
#include <ostream>
#include <sstream>
#include <thread>

#include "fakes/test_servers.hpp"
#include "image_gateway/metrics/metrics.hpp"
#include "image_gateway/util/sample_images.hpp"
#include "image_gateway/util/strings.hpp"
#include "integration/error_assertions.hpp"

namespace image_gateway::testing {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;

class ErrorTableTest : public ::testing::Test {
 protected:
  void SetUp() override {
    origin.serve("/big.png", samples::png(984, 369, 11));
    origin.serve("/small.png", samples::png(144, 144, 12));
  }

  config settings() { return test_config(oppo.base_url()); }
  gateway_under_test& start(config c) {
    gateway = std::make_unique<gateway_under_test>(std::move(c));
    return *gateway;
  }
  gateway_under_test& start() { return start(settings()); }

  // A request body with the origin's URLs for the given paths ("" leaves a field out).
  std::string body(const std::string& big, const std::string& small) const {
    json request = json::object();
    if (!big.empty()) request["big_picture_url"] = origin.url(big);
    if (!small.empty()) request["small_picture_url"] = origin.url(small);
    return request.dump();
  }
  std::string small_only(const std::string& url) const {
    return json{{"small_picture_url", url}}.dump();
  }
  std::string big_only(const std::string& url) const {
    return json{{"big_picture_url", url}}.dump();
  }

  fake_origin origin;
  fake_oppo_server oppo;
  std::unique_ptr<gateway_under_test> gateway;
};

// ---------------------------------------------------------------- 21001 / 404

TEST_F(ErrorTableTest, UnknownPathIs21001) {
  auto& gw = start();
  const auto response = http_call("POST", gw.url("/v4/image/huawei"), body("/big.png", ""),
                                  {basic_header(test_app_key, test_app_secret)});
  expect_error(response, 404, 21001, msg_route, {"/v4/image/huawei"});
  EXPECT_EQ(response.header("www-authenticate"), "");
  EXPECT_EQ(origin.total_hits(), 0U);

  // Without credentials too: routing comes before authentication.
  expect_error(http_call("GET", gw.url("/nothing/here")), 404, 21001, msg_route, {"/nothing/here"});
}

TEST_F(ErrorTableTest, GetOnTheEndpointIs21001WhateverTheCredentials) {
  auto& gw = start();
  const auto with_good =
      http_call("GET", gw.url("/v4/image/oppo"), "", {basic_header(test_app_key, test_app_secret)});
  expect_error(with_good, 404, 21001, msg_route, {"GET", "/v4/image/oppo"});
  const auto with_bad =
      http_call("GET", gw.url("/v4/image/oppo"), "", {basic_header(test_app_key, "wrong-secret")});
  expect_error(with_bad, 404, 21001, msg_route, {"GET"});
  EXPECT_EQ(with_bad.header("www-authenticate"), "");
  const auto put = http_call("PUT", gw.url("/v4/image/oppo"), body("/big.png", ""),
                             {basic_header(test_app_key, test_app_secret)});
  expect_error(put, 404, 21001, msg_route, {"PUT"});
  EXPECT_EQ(origin.total_hits(), 0U);
  EXPECT_EQ(oppo.api().stats().upload_requests, 0U);
}

TEST_F(ErrorTableTest, QueryStringOnTheEndpointStillRoutes) {
  auto& gw = start();
  const auto response = http_call("POST", gw.url("/v4/image/oppo?x=1"), body("", "/small.png"),
                                  {basic_header(test_app_key, test_app_secret)});
  ASSERT_EQ(response.status, 200) << response.body << response.error;
  const json answer = json::parse(response.body);
  EXPECT_FALSE(answer.at("small_picture_id").get<std::string>().empty());
  EXPECT_EQ(oppo.api().stats().uploads_accepted, 1U);
}

// ---------------------------------------------------------------- 23001 / 401

struct auth_case {
  const char* name;
  std::vector<std::string> headers;
};

// gtest prints a failing test's parameter: its name, not its bytes.
void PrintTo(const auth_case& value, std::ostream* out) { *out << value.name; }

class AuthFailureTest : public ErrorTableTest, public ::testing::WithParamInterface<auth_case> {};

TEST_P(AuthFailureTest, Is23001WithTheBasicChallenge) {
  auto& gw = start();
  const auto response = http_call("POST", gw.url("/v4/image/oppo"), body("/big.png", "/small.png"),
                                  GetParam().headers);
  expect_error(response, 401, 23001, msg_auth, {"Basic"});
  EXPECT_EQ(response.header("www-authenticate"), "Basic realm=\"image-gateway\"");
  // Nothing past authentication ran, and no secret (presented or configured) comes back.
  EXPECT_EQ(origin.total_hits(), 0U);
  EXPECT_EQ(response.body.find("test-secret"), std::string::npos);
  EXPECT_EQ(response.body.find("not-the-secret"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(
    EveryCause, AuthFailureTest,
    ::testing::Values(
        auth_case{"Missing", {}},
        auth_case{"Bearer", {"Authorization: Bearer " + base64_encode("test-app:test-secret")}},
        auth_case{"NotBase64", {"Authorization: Basic !!not*base64!!"}},
        auth_case{"NoColon", {"Authorization: Basic " + base64_encode("test-apptest-secret")}},
        auth_case{"UnknownAppKey", {basic_header("no-such-app", "test-secret")}},
        auth_case{"WrongSecret", {basic_header("test-app", "not-the-secret")}},
        auth_case{"EmptyBasic", {"Authorization: Basic "}}),
    [](const ::testing::TestParamInfo<auth_case>& case_info) {
      return std::string(case_info.param.name);
    });

TEST_F(ErrorTableTest, BadPasswordOnABadBodyIs23001) {
  auto& gw = start();
  const auto response = http_call("POST", gw.url("/v4/image/oppo"), "this is not json {",
                                  {basic_header(test_app_key, "not-the-secret")});
  expect_error(response, 401, 23001, msg_auth);
  EXPECT_EQ(response.header("www-authenticate"), "Basic realm=\"image-gateway\"");
  // And {} (which would be 23002) with a bad password is 23001 as well.
  expect_error(http_call("POST", gw.url("/v4/image/oppo"), "{}",
                         {basic_header(test_app_key, "not-the-secret")}),
               401, 23001, msg_auth);
}

// Order of checks: route and method, then authentication, then rate limit, then body size.
// Credentials are judged on the header, so a bad password on an oversized body is 23001.
TEST_F(ErrorTableTest, BadPasswordOnAnOversizedBodyIs23001) {
  config c = settings();
  c.server.max_body_bytes = 256;
  auto& gw = start(c);
  const std::string big_body = json{{"pad", std::string(400, 'x')}}.dump();
  const auto response = http_call("POST", gw.url("/v4/image/oppo"), big_body,
                                  {basic_header(test_app_key, "not-the-secret")});
  expect_error(response, 401, 23001, msg_auth);
  EXPECT_EQ(response.header("www-authenticate"), "Basic realm=\"image-gateway\"");
}

TEST_F(ErrorTableTest, OversizedBodyOnAnUnknownPathIs21001) {
  config c = settings();
  c.server.max_body_bytes = 256;
  auto& gw = start(c);
  const std::string big_body = json{{"pad", std::string(400, 'x')}}.dump();
  expect_error(http_call("POST", gw.url("/v4/image/nowhere"), big_body), 404, 21001, msg_route);
}

// ---------------------------------------------------------------- 21003 / 400: body and fields

TEST_F(ErrorTableTest, BodyThatIsNotAJsonObjectIs21003) {
  auto& gw = start();
  for (const std::string text : {"this is not json", "[\"http://a.example/b.png\"]",
                                 "\"http://a.example/b.png\"", "", "42", "{\"big_picture_url\":"}) {
    SCOPED_TRACE(text);
    expect_error(post_images(gw, text), 400, 21003, msg_invalid, {"JSON object"});
  }
  EXPECT_EQ(origin.total_hits(), 0U);
}

TEST_F(ErrorTableTest, FieldThatIsNotAStringIs21003) {
  auto& gw = start();
  expect_error(post_images(gw, R"({"big_picture_url":5})"), 400, 21003, msg_invalid,
               {"big_picture_url", "string"});
  expect_error(post_images(gw, R"({"small_picture_url":{"url":"http://a.example/s.png"}})"), 400,
               21003, msg_invalid, {"small_picture_url", "string"});
  expect_error(post_images(gw, R"({"small_picture_url":["http://a.example/s.png"]})"), 400, 21003,
               msg_invalid, {"small_picture_url"});
  expect_error(post_images(gw, R"({"big_picture_url":true})"), 400, 21003, msg_invalid,
               {"big_picture_url"});
}

// ---------------------------------------------------------------- 21003 / 400: URL checks

TEST_F(ErrorTableTest, MalformedUrlIs21003) {
  auto& gw = start();
  expect_error(post_images(gw, big_only("http://[::1/x.png")), 400, 21003, msg_invalid,
               {"big_picture_url", "malformed"});
  expect_error(post_images(gw, small_only("http://exa mple.com/s.png")), 400, 21003, msg_invalid,
               {"small_picture_url", "malformed", "whitespace"});
  expect_error(post_images(gw, small_only("not a url at all")), 400, 21003, msg_invalid,
               {"small_picture_url"});
  expect_error(post_images(gw, big_only("http://host:99999/b.png")), 400, 21003, msg_invalid,
               {"big_picture_url", "port"});
  EXPECT_EQ(origin.total_hits(), 0U);
}

TEST_F(ErrorTableTest, UrlLongerThan2048BytesIs21003AndExactly2048Passes) {
  auto& gw = start();
  const std::string base = origin.url("/small.png") + "?pad=";
  const std::string at_limit = base + std::string(2048 - base.size(), 'a');
  const std::string over_limit = at_limit + "a";
  ASSERT_EQ(at_limit.size(), 2048U);
  expect_error(post_images(gw, small_only(over_limit)), 400, 21003, msg_invalid,
               {"small_picture_url", "2049", "2048"});
  EXPECT_EQ(origin.total_hits(), 0U);

  const auto ok = post_images(gw, small_only(at_limit));
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_TRUE(json::parse(ok.body).contains("small_picture_id"));
}

TEST_F(ErrorTableTest, SchemeOtherThanHttpIs21003) {
  auto& gw = start();
  expect_error(post_images(gw, big_only("ftp://127.0.0.1/big.png")), 400, 21003, msg_invalid,
               {"big_picture_url", "ftp", "http"});
  expect_error(post_images(gw, small_only("file:///etc/passwd")), 400, 21003, msg_invalid,
               {"small_picture_url", "file"});
  expect_error(post_images(gw, small_only("gopher://127.0.0.1:70/_x")), 400, 21003, msg_invalid,
               {"small_picture_url", "gopher"});
}

TEST_F(ErrorTableTest, UrlWithUserinfoIs21003) {
  auto& gw = start();
  const std::string port = std::to_string(gw.port());
  expect_error(post_images(gw, small_only("http://user:password@127.0.0.1:" + port + "/small.png")),
               400, 21003, msg_invalid, {"small_picture_url", "credentials"});
  expect_error(post_images(gw, big_only("http://user@127.0.0.1:" + port + "/big.png")), 400, 21003,
               msg_invalid, {"big_picture_url", "credentials"});
  const auto response = post_images(gw, small_only("https://admin:hunter2@cdn.example.com/s.png"));
  expect_error(response, 400, 21003, msg_invalid, {"small_picture_url"});
  EXPECT_EQ(response.body.find("hunter2"), std::string::npos);  // never echo a password
  EXPECT_EQ(origin.total_hits(), 0U);
}

TEST_F(ErrorTableTest, LocalhostHostNameIs21003) {
  auto& gw = start();  // even though 127.0.0.0/8 is allowed: the name itself is refused
  const std::string url = origin.url("/small.png");
  const std::string by_name = "http://localhost" + url.substr(url.find(':', 5));
  expect_error(post_images(gw, small_only(by_name)), 400, 21003, msg_invalid,
               {"small_picture_url", "localhost", "not allowed"});
  expect_error(post_images(gw, big_only("http://a.b.localhost./big.png")), 400, 21003, msg_invalid,
               {"big_picture_url", "not allowed"});
  EXPECT_EQ(origin.total_hits(), 0U);
}

TEST_F(ErrorTableTest, AddressNotAllowedIs21003AndTheOriginSeesNothing) {
  config c = settings();
  c.fetch.allow_networks.clear();  // the production default: loopback is blocked
  auto& gw = start(c);
  expect_error(post_images(gw, body("/big.png", "")), 400, 21003, msg_invalid,
               {"big_picture_url", "address not allowed"});
  expect_error(post_images(gw, body("", "/small.png")), 400, 21003, msg_invalid,
               {"small_picture_url", "address not allowed"});
  EXPECT_EQ(origin.total_hits(), 0U);
  EXPECT_EQ(oppo.api().stats().upload_requests, 0U);
}

// ---------------------------------------------------------------- 21003 / 400: fetch failures

TEST_F(ErrorTableTest, DnsFailureIs21003) {
  auto& gw = start();
  expect_error(post_images(gw, small_only("http://no-such-host.invalid/x.png")), 400, 21003,
               msg_invalid, {"small_picture_url", "resolved"});
}

TEST_F(ErrorTableTest, ConnectionRefusedIs21003) {
  auto& gw = start();
  const std::string url = "http://127.0.0.1:" + std::to_string(closed_port()) + "/big.png";
  expect_error(post_images(gw, big_only(url)), 400, 21003, msg_invalid,
               {"big_picture_url", "could not connect"});
}

TEST_F(ErrorTableTest, OriginAnswering404Or500Is21003) {
  origin.serve("/broken.png", "oops", "text/plain", 500);
  auto& gw = start();
  expect_error(post_images(gw, body("/missing.png", "")), 400, 21003, msg_invalid,
               {"big_picture_url", "HTTP 404"});
  expect_error(post_images(gw, body("", "/broken.png")), 400, 21003, msg_invalid,
               {"small_picture_url", "HTTP 500"});
  EXPECT_EQ(oppo.api().stats().upload_requests, 0U);
}

TEST_F(ErrorTableTest, TooManyRedirectsIs21003AndThreeHopsPass) {
  // 4 hops: r1 -> r2 -> r3 -> r4 -> small.png; max_redirects is 3.
  origin.redirect("/r1", origin.url("/r2"));
  origin.redirect("/r2", origin.url("/r3"), 301);
  origin.redirect("/r3", origin.url("/r4"), 307);
  origin.redirect("/r4", origin.url("/small.png"), 308);
  auto& gw = start();
  ASSERT_EQ(gw.settings().fetch.max_redirects, 3);
  expect_error(post_images(gw, small_only(origin.url("/r1"))), 400, 21003, msg_invalid,
               {"small_picture_url", "redirects"});
  EXPECT_EQ(origin.hits("/small.png"), 0U);

  const auto three_hops = post_images(gw, small_only(origin.url("/r2")));
  ASSERT_EQ(three_hops.status, 200) << three_hops.body;
  EXPECT_EQ(origin.hits("/small.png"), 1U);
}

TEST_F(ErrorTableTest, RedirectToAnotherSchemeIs21003) {
  origin.redirect("/to-ftp", "ftp://127.0.0.1/small.png");
  auto& gw = start();
  expect_error(post_images(gw, small_only(origin.url("/to-ftp"))), 400, 21003, msg_invalid,
               {"small_picture_url"});
}

TEST_F(ErrorTableTest, FetchTimeOutIs21003) {
  origin.serve("/slow.png", samples::png(144, 144, 5));
  origin.delay("/slow.png", milliseconds(2000));
  config c = settings();
  c.fetch.timeout = milliseconds(300);
  auto& gw = start(c);
  expect_error(post_images(gw, small_only(origin.url("/slow.png"))), 400, 21003, msg_invalid,
               {"small_picture_url", "timed out", "300 ms"});
  EXPECT_EQ(oppo.api().stats().upload_requests, 0U);
}

// ---------------------------------------------------------------- 21003 / 413

// KNOWN FAILURE (reported to the lead): a Content-Length over max_body_bytes answers 400
// "malformed HTTP request". Beast's parser checks Content-Length against body_limit while reading
// the header, so http_session's header-read error path (which maps everything but header_limit
// to 400) sees http::error::body_limit, and the explicit 413 check after the header never runs.
// A chunked body over the limit (next test) does get 413.
TEST_F(ErrorTableTest, BodyOverMaxBodyBytesIs413) {
  config c = settings();
  c.server.max_body_bytes = 256;
  auto& gw = start(c);
  const std::string over = json{{"pad", std::string(300, 'x')}}.dump();
  const auto response = post_images(gw, over);
  expect_error(response, 413, 21003, msg_invalid, {"256"});

  // Exactly the limit is read and judged on its content (here: nothing asked for).
  std::string at_limit = json{{"pad", std::string(1, 'x')}}.dump();
  at_limit = json{{"pad", std::string(256 - at_limit.size() + 1, 'x')}}.dump();
  ASSERT_EQ(at_limit.size(), 256U);
  expect_error(post_images(gw, at_limit), 400, 23002, msg_missing);
}

TEST_F(ErrorTableTest, ChunkedBodyOverMaxBodyBytesIs413) {
  config c = settings();
  c.server.max_body_bytes = 256;
  auto& gw = start(c);
  const std::string payload = json{{"pad", std::string(400, 'y')}}.dump();
  std::ostringstream chunk_size;
  chunk_size << std::hex << payload.size();
  raw_connection connection(gw.port());
  ASSERT_TRUE(connection.connected());
  ASSERT_TRUE(connection.send("POST /v4/image/oppo HTTP/1.1\r\nHost: 127.0.0.1\r\n" +
                              basic_header(test_app_key, test_app_secret) +
                              "\r\nTransfer-Encoding: chunked\r\n\r\n" + chunk_size.str() + "\r\n" +
                              payload + "\r\n0\r\n\r\n"));
  const raw_response response = connection.read_response();
  expect_error(response, 413, 21003, msg_invalid, {"256"});
}

// ---------------------------------------------------------------- 23002 / 400

TEST_F(ErrorTableTest, NeitherUrlAskedForIs23002) {
  auto& gw = start();
  for (const std::string text :
       {"{}", R"({"big_picture_url":null,"small_picture_url":null})",
        R"({"big_picture_url":"","small_picture_url":""})",
        R"({"big_picture_url":null,"small_picture_url":""})", R"({"other":"field"})"}) {
    SCOPED_TRACE(text);
    expect_error(post_images(gw, text), 400, 23002, msg_missing,
                 {"big_picture_url", "small_picture_url"});
  }
}

// ---------------------------------------------------------------- 51 / 200: local image checks

TEST_F(ErrorTableTest, SmallImageOverItsByteLimitIs51AndExactlyTheLimitPasses) {
  const std::string png = samples::png(144, 144, 31);
  ASSERT_LT(png.size() + 12, 51200U);
  origin.serve("/over.png", samples::pad_png(png, 51201));
  origin.serve("/at.png", samples::pad_png(png, 51200));
  auto& gw = start();
  const auto over = post_images(gw, body("", "/over.png"));
  expect_error(over, 200, 51, msg_picture, {"small_picture_url", "51200"});
  EXPECT_EQ(over.header("x-cache"), "");
  EXPECT_EQ(oppo.api().stats().upload_requests, 0U);

  const auto at = post_images(gw, body("", "/at.png"));
  ASSERT_EQ(at.status, 200) << at.body;
  EXPECT_TRUE(json::parse(at.body).contains("small_picture_id"));
  EXPECT_EQ(oppo.api().stats().uploads_accepted, 1U);
}

TEST_F(ErrorTableTest, BigImageOverItsByteLimitIs51AndExactlyTheLimitPasses) {
  const std::string png = samples::png(984, 369, 32);
  ASSERT_LT(png.size() + 12, 1048576U);
  origin.serve("/over.png", samples::pad_png(png, 1048577));
  origin.serve("/at.png", samples::pad_png(png, 1048576));
  auto& gw = start();
  expect_error(post_images(gw, body("/over.png", "")), 200, 51, msg_picture,
               {"big_picture_url", "1048576"});
  EXPECT_EQ(oppo.api().stats().upload_requests, 0U);

  const auto at = post_images(gw, body("/at.png", ""));
  ASSERT_EQ(at.status, 200) << at.body;
  EXPECT_TRUE(json::parse(at.body).contains("big_picture_id"));
}

TEST_F(ErrorTableTest, WrongPixelSizeIs51WithTheExactDetail) {
  origin.serve("/wide.png", samples::png(1000, 400, 33));
  origin.serve("/tiny.png", samples::png(100, 100, 34));
  origin.serve("/square.jpg", samples::jpeg(144, 144, 35), "image/jpeg");
  auto& gw = start();
  const auto big = expect_error(post_images(gw, body("/wide.png", "")), 200, 51, msg_picture);
  EXPECT_EQ(big.value("detail", ""),
            "big_picture_url: image is 1000x400 px, OPPO requires 984x369");
  const auto small = expect_error(post_images(gw, body("", "/tiny.png")), 200, 51, msg_picture);
  EXPECT_EQ(small.value("detail", ""),
            "small_picture_url: image is 100x100 px, OPPO requires 144x144");
  // A right-sized small JPEG offered as the big picture.
  const auto swapped = expect_error(post_images(gw, body("/square.jpg", "")), 200, 51, msg_picture);
  EXPECT_EQ(swapped.value("detail", ""),
            "big_picture_url: image is 144x144 px, OPPO requires 984x369");
  EXPECT_EQ(oppo.api().stats().upload_requests, 0U);
}

TEST_F(ErrorTableTest, HtmlServedAsPngIs51) {
  origin.serve("/page.png", "<!DOCTYPE html><html><body>Not found</body></html>", "image/png");
  auto& gw = start();
  const auto error = expect_error(post_images(gw, body("", "/page.png")), 200, 51, msg_picture);
  EXPECT_EQ(error.value("detail", ""),
            "small_picture_url: not a PNG or JPEG image (magic bytes; it looks like HTML)");
  EXPECT_EQ(oppo.api().stats().upload_requests, 0U);
}

TEST_F(ErrorTableTest, TruncatedPngThatDoesNotDecodeIs51) {
  const std::string png = samples::png(144, 144, 36);
  origin.serve("/cut.png", png.substr(0, png.size() * 2 / 3));
  auto& gw = start();
  ASSERT_TRUE(gw.settings().images.verify_decode);
  expect_error(post_images(gw, body("", "/cut.png")), 200, 51, msg_picture,
               {"small_picture_url", "does not decode"});
  EXPECT_EQ(oppo.api().stats().upload_requests, 0U);
}

// With verify_decode off only the header is judged, and the header of a truncated PNG is fine;
// the fake OPPO (like the real one, as far as its documentation says) also checks only the
// header, so the upload succeeds. This pins down what turning the check off means.
TEST_F(ErrorTableTest, TruncatedPngIsUploadedWhenVerifyDecodeIsOff) {
  const std::string png = samples::png(144, 144, 36);
  origin.serve("/cut.png", png.substr(0, png.size() * 2 / 3));
  config c = settings();
  c.images.verify_decode = false;
  auto& gw = start(c);
  const auto response = post_images(gw, body("", "/cut.png"));
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_TRUE(json::parse(response.body).contains("small_picture_id"));
  EXPECT_EQ(oppo.api().stats().uploads_accepted, 1U);
}

// ---------------------------------------------------------------- 51 / 200: OPPO business codes

TEST_F(ErrorTableTest, OppoInvalidPicture51IsPassedThroughWithoutRetry) {
  auto& gw = start();
  oppo.api().script_upload_codes({51});
  const auto response = post_images(gw, body("", "/small.png"));
  const auto error = expect_error(response, 200, 51, msg_picture, {"small_picture", "code 51"});
  ASSERT_TRUE(error.contains("upstream")) << response.body;
  EXPECT_EQ(error["upstream"].value("code", 0), 51);
  EXPECT_EQ(error["upstream"].value("message", ""), "Picture Size Exceeds");
  EXPECT_EQ(oppo.api().stats().upload_requests, 1U);
}

TEST_F(ErrorTableTest, OppoDailyLimit34IsPassedThroughWithoutRetry) {
  auto& gw = start();
  oppo.api().script_upload_codes({34});
  const auto response = post_images(gw, body("/big.png", ""));
  const auto error = expect_error(response, 200, 51, msg_picture, {"big_picture", "code 34"});
  ASSERT_TRUE(error.contains("upstream")) << response.body;
  EXPECT_EQ(error["upstream"].value("code", 0), 34);
  EXPECT_EQ(error["upstream"].value("message", ""),
            "The number of uploads exceeds the daily limit");
  EXPECT_EQ(oppo.api().stats().upload_requests, 1U);
}

TEST_F(ErrorTableTest, LocalImageErrorsCarryNoUpstream) {
  origin.serve("/tiny.png", samples::png(100, 100, 34));
  auto& gw = start();
  const auto error = expect_error(post_images(gw, body("", "/tiny.png")), 200, 51, msg_picture);
  EXPECT_FALSE(error.contains("upstream"));
}

// ---------------------------------------------------------------- 23100 / 500

TEST_F(ErrorTableTest, OppoRejectingOurCredentialsIs23100) {
  config c = settings();
  c.apps[0].oppo.master_secret = "wrong-oppo-master-secret";
  auto& gw = start(c);
  const auto response = post_images(gw, body("", "/small.png"));
  expect_error(response, 500, 23100, msg_server, {"credentials", "code 16"});
  EXPECT_EQ(response.body.find("wrong-oppo-master-secret"), std::string::npos);
  EXPECT_EQ(response.body.find("oppo-test-secret"), std::string::npos);
  EXPECT_EQ(oppo.api().stats().auth_requests, 1U);  // a credentials refusal is not retried
  EXPECT_EQ(oppo.api().stats().upload_requests, 0U);
}

TEST_F(ErrorTableTest, OppoAuthScriptedCredentialCodeIs23100) {
  auto& gw = start();
  oppo.api().script_auth_codes({14});
  expect_error(post_images(gw, body("", "/small.png")), 500, 23100, msg_server, {"code 14"});
  EXPECT_EQ(oppo.api().stats().auth_requests, 1U);
}

TEST_F(ErrorTableTest, TokenRefusedAgainAfterARefreshIs23100) {
  auto& gw = start();
  oppo.api().script_upload_codes({11, 11});
  const auto response = post_images(gw, body("", "/small.png"));
  expect_error(response, 500, 23100, msg_server, {"after a refresh", "code 11"});
  EXPECT_EQ(oppo.api().stats().auth_requests, 2U);
  EXPECT_EQ(oppo.api().stats().upload_requests, 2U);
}

TEST_F(ErrorTableTest, MissingTokenAgainAfterARefreshIs23100) {
  auto& gw = start();
  oppo.api().script_upload_codes({29, 29});
  expect_error(post_images(gw, body("/big.png", "")), 500, 23100, msg_server, {"code 29"});
  EXPECT_EQ(oppo.api().stats().auth_requests, 2U);
  EXPECT_EQ(oppo.api().stats().upload_requests, 2U);
}

TEST_F(ErrorTableTest, UnparsableUploadAnswerIs23100) {
  fixed_answer_server broken(200, "<html>gateway says hi</html>", "text/html");
  config c = settings();
  c.oppo.media_base_url = broken.base_url();  // auth from the fake, uploads to the broken one
  auto& gw = start(c);
  expect_error(post_images(gw, body("", "/small.png")), 500, 23100, msg_server,
               {"could not be read"});
  EXPECT_EQ(broken.hits(), 1U);  // not a transient failure: no retry
  EXPECT_EQ(oppo.api().stats().auth_requests, 1U);
}

TEST_F(ErrorTableTest, UnparsableAuthAnswerIs23100) {
  fixed_answer_server broken(200, "not json at all");
  config c = settings();
  c.oppo.auth_base_url = broken.base_url();
  auto& gw = start(c);
  expect_error(post_images(gw, body("", "/small.png")), 500, 23100, msg_server,
               {"auth", "could not be read"});
  EXPECT_EQ(broken.hits(), 1U);
  EXPECT_EQ(oppo.api().stats().upload_requests, 0U);
}

// ---------------------------------------------------------------- 27000 / 500

TEST_F(ErrorTableTest, OppoTimingOutIs27000) {
  config c = settings();
  c.oppo.timeout = milliseconds(200);
  c.oppo.retries = 1;
  auto& gw = start(c);
  oppo.api().set_delay(milliseconds(1500));
  expect_error(post_images(gw, body("", "/small.png")), 500, 27000, msg_timeout,
               {"OPPO", "timed out"});
  EXPECT_EQ(oppo.api().stats().auth_requests, 2U);  // 1 + retries
}

TEST_F(ErrorTableTest, OppoSlowerThanTheRequestDeadlineIs27000) {
  config c = settings();
  c.server.request_deadline = milliseconds(600);
  c.oppo.timeout = milliseconds(5000);
  auto& gw = start(c);
  oppo.api().set_delay(milliseconds(3000));
  expect_error(post_images(gw, body("", "/small.png")), 500, 27000, msg_timeout, {"OPPO"});
  EXPECT_EQ(oppo.api().stats().uploads_accepted, 0U);
}

TEST_F(ErrorTableTest, OppoUnreachableIs27000) {
  const std::string nowhere = "http://127.0.0.1:" + std::to_string(closed_port());
  config c = test_config(nowhere);
  auto& gw = start(c);
  expect_error(post_images(gw, body("", "/small.png")), 500, 27000, msg_timeout,
               {"could not be reached"});
}

TEST_F(ErrorTableTest, Oppo5xxOnUploadIs27000AfterTheRetries) {
  fixed_answer_server unavailable(503, "<html>503 Service Unavailable</html>", "text/html");
  config c = settings();
  c.oppo.media_base_url = unavailable.base_url();
  c.oppo.retries = 2;
  auto& gw = start(c);
  expect_error(post_images(gw, body("", "/small.png")), 500, 27000, msg_timeout,
               {"HTTP 503", "3 attempts"});
  EXPECT_EQ(unavailable.hits(), 3U);  // 1 + oppo.retries
}

TEST_F(ErrorTableTest, Oppo5xxOnAuthIs27000AfterTheRetries) {
  fixed_answer_server unavailable(502, "bad gateway");
  config c = settings();
  c.oppo.auth_base_url = unavailable.base_url();
  c.oppo.retries = 2;
  auto& gw = start(c);
  expect_error(post_images(gw, body("/big.png", "")), 500, 27000, msg_timeout, {"HTTP 502"});
  EXPECT_EQ(unavailable.hits(), 3U);
  EXPECT_EQ(oppo.api().stats().upload_requests, 0U);
}

class ThrottledTest : public ErrorTableTest, public ::testing::WithParamInterface<int> {};

TEST_P(ThrottledTest, Is27000AfterOnePlusRetriesAttempts) {
  config c = settings();
  c.oppo.retries = 2;
  auto& gw = start(c);
  const int code = GetParam();
  oppo.api().script_upload_codes({code, code, code, code});
  expect_error(post_images(gw, body("", "/small.png")), 500, 27000, msg_timeout,
               {"code " + std::to_string(code), "3 attempts"});
  EXPECT_EQ(oppo.api().stats().upload_requests, 3U);
  EXPECT_EQ(oppo.api().stats().uploads_accepted, 0U);
}

INSTANTIATE_TEST_SUITE_P(TransientCodes, ThrottledTest, ::testing::Values(-1, -2, 13, 55),
                         [](const ::testing::TestParamInfo<int>& code_info) {
                           return code_info.param < 0 ? "Minus" + std::to_string(-code_info.param)
                                                      : "Code" + std::to_string(code_info.param);
                         });

TEST_F(ErrorTableTest, ThrottledOnceThenAcceptedIs200) {
  auto& gw = start();
  oppo.api().script_upload_codes({13});
  const auto response = post_images(gw, body("", "/small.png"));
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(oppo.api().stats().upload_requests, 2U);
  EXPECT_EQ(oppo.api().stats().uploads_accepted, 1U);
}

// ---------------------------------------------------------------- 27000 / 503

TEST_F(ErrorTableTest, InFlightLimitIs503WithRetryAfter) {
  origin.serve("/slow.png", samples::png(144, 144, 40));
  origin.delay("/slow.png", milliseconds(1000));
  config c = settings();
  c.server.max_inflight = 1;
  auto& gw = start(c);

  auto first =
      std::async(std::launch::async, [&] { return post_images(gw, body("", "/slow.png")); });
  // Bounded wait until the first request holds the only slot (its fetch reached the origin).
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (origin.hits("/slow.png") == 0 && std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(milliseconds(5));
  }
  ASSERT_EQ(origin.hits("/slow.png"), 1U);

  const auto second = post_images(gw, body("", "/small.png"));
  expect_error(second, 503, 27000, msg_timeout, {"1 requests in flight"});
  EXPECT_EQ(second.header("retry-after"), "1");
  EXPECT_EQ(origin.hits("/small.png"), 0U);

  const auto held = first.get();
  EXPECT_EQ(held.status, 200) << held.body;
  // The slot is free again.
  EXPECT_EQ(post_images(gw, body("", "/small.png")).status, 200);
}

TEST_F(ErrorTableTest, RequestAfterTheDrainWindowIs503WithRetryAfter) {
  auto& gw = start();
  gw.api().begin_drain();
  EXPECT_EQ(post_images(gw, body("", "/small.png")).status, 200);  // still served in the window
  gw.api().end_drain_window();
  const auto response = post_images(gw, body("", "/small.png"));
  expect_error(response, 503, 27000, msg_timeout, {"shutting down"});
  EXPECT_EQ(response.header("retry-after"), "1");
}

// ---------------------------------------------------------------- 2002 / 429

TEST_F(ErrorTableTest, AppOverItsRateLimitIs429WithRateHeaders) {
  config c = settings();
  c.apps[0].rate_limit_per_s = 1;
  c.apps.push_back({"free-app", "free-secret", fake_oppo_server::default_oppo_app(), 0});
  auto& gw = start(c);

  // The first is let through (and fails later, on its body), the immediate second is not.
  const auto first = post_images(gw, "{}");
  expect_error(first, 400, 23002, msg_missing);
  EXPECT_EQ(first.header("x-rate-limit-limit"), "1");
  EXPECT_EQ(first.header("x-rate-limit-remaining"), "0");
  EXPECT_EQ(first.header("x-rate-limit-reset"), "1");
  EXPECT_EQ(first.header("retry-after"), "");

  const auto second = post_images(gw, body("", "/small.png"));
  expect_error(second, 429, 2002, msg_rate, {"test-app", "1 requests per second"});
  EXPECT_EQ(second.header("retry-after"), "1");
  EXPECT_EQ(second.header("x-rate-limit-limit"), "1");
  EXPECT_EQ(second.header("x-rate-limit-remaining"), "0");
  EXPECT_FALSE(second.header("x-rate-limit-reset").empty());
  EXPECT_EQ(origin.total_hits(), 0U);

  // Another app is not affected and, without a limit, carries no rate headers.
  const auto free = http_call("POST", gw.url("/v4/image/oppo"), body("", "/small.png"),
                              {basic_header("free-app", "free-secret")});
  EXPECT_EQ(free.status, 200) << free.body;
  EXPECT_EQ(free.header("x-rate-limit-limit"), "");
  EXPECT_EQ(gw.api().metrics().rate_limited.value({"test-app"}), 1.0);
}

}  // namespace
}  // namespace image_gateway::testing
