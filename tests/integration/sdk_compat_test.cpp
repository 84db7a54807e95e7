// The official EngageLab AppPush SDKs (Python engagelab-apppush and Go engagelab-apppush-go,
// 0.1.1) pointed at the gateway with their base-URL option: the exact requests each one sends,
// replayed byte for byte on raw connections to the real gateway (fake OPPO, fake origin), and the
// answers each SDK decodes. docs/sdks.md describes the same from the caller's side.
//
// Python (urllib.request): a JSON body from json.dumps (", " and ": " separators, absent fields
// left out), Content-Type "application/json; charset=utf-8", Accept "application/json",
// "Accept-Encoding: identity" and "Connection: close": one connection per call. A non-2xx answer
// raises ApiError with the body's error.code and error.message; a 2xx body is read into
// ImageUploadResult(big_picture_id, small_picture_id).
// Go (net/http): the same headers and a compact json.Marshal body, HTTP/1.1 keep-alive (the
// default Transport reuses the connection) and "Accept-Encoding: gzip", which the Transport adds
// itself. Non-2xx answers become *ApiError, 2xx bodies ImageUploadResult.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "fakes/test_servers.hpp"
#include "image_gateway/util/sample_images.hpp"
#include "integration/error_assertions.hpp"

namespace image_gateway::testing {
namespace {

using nlohmann::json;

// The picture URLs of one call; an empty one is left out of the body, as both SDKs do.
struct picture_urls {
  std::string big;
  std::string small;
};

// The JSON body of OppoImageParam with absent fields left out, written with the SDK's
// separators: json.dumps (Python) puts a space after ',' and ':', json.Marshal (Go) does not.
std::string sdk_body(const picture_urls& urls, std::string_view comma, std::string_view colon) {
  std::string body = "{";
  const auto field = [&](std::string_view name, const std::string& url) {
    if (url.empty()) return;
    if (body.size() > 1) body += comma;
    body += "\"" + std::string(name) + "\"" + std::string(colon) + "\"" + url + "\"";
  };
  field("big_picture_url", urls.big);
  field("small_picture_url", urls.small);
  return body + "}";
}
std::string python_body(const picture_urls& urls) { return sdk_body(urls, ", ", ": "); }
std::string go_body(const picture_urls& urls) { return sdk_body(urls, ",", ":"); }

std::string host_of(unsigned short port) { return "127.0.0.1:" + std::to_string(port); }

// What urllib.request.urlopen writes for Client._request("POST", "/v4/image/oppo", ...):
// http.client puts Accept-Encoding first, then urllib's unredirected headers (Content-Length, Host,
// User-Agent), the request's own (Authorization, Content-Type, Accept) and Connection: close.
std::string python_request(unsigned short port, const std::string& authorization,
                           const std::string& body) {
  return "POST /v4/image/oppo HTTP/1.1\r\n"
         "Accept-Encoding: identity\r\n"
         "Content-Length: " +
         std::to_string(body.size()) +
         "\r\n"
         "Host: " +
         host_of(port) +
         "\r\n"
         "User-Agent: Python-urllib/3.11\r\n" +
         authorization +
         "\r\n"
         "Content-Type: application/json; charset=utf-8\r\n"
         "Accept: application/json\r\n"
         "Connection: close\r\n"
         "\r\n" +
         body;
}

// What Go's http.Client writes for Client.doRequest: Host, User-Agent, Content-Length, the
// request's headers in sorted order, then the Accept-Encoding the Transport adds.
std::string go_request(unsigned short port, const std::string& authorization,
                       const std::string& body) {
  return "POST /v4/image/oppo HTTP/1.1\r\n"
         "Host: " +
         host_of(port) +
         "\r\n"
         "User-Agent: Go-http-client/1.1\r\n"
         "Content-Length: " +
         std::to_string(body.size()) +
         "\r\n"
         "Accept: application/json\r\n" +
         authorization +
         "\r\n"
         "Content-Type: application/json; charset=utf-8\r\n"
         "Accept-Encoding: gzip\r\n"
         "\r\n" +
         body;
}

// The two ids as an SDK's ImageUploadResult holds them after decoding a 2xx body: a field that is
// absent stays empty (None in Python, "" in Go).
struct sdk_result {
  std::string big_picture_id;
  std::string small_picture_id;
};

sdk_result decode_result(const std::string& body) {
  const json parsed = json::parse(body, nullptr, false);
  EXPECT_TRUE(parsed.is_object()) << body;
  if (!parsed.is_object()) return {};
  return {parsed.value("big_picture_id", ""), parsed.value("small_picture_id", "")};
}

class SdkCompatTest : public ::testing::Test {
 protected:
  void SetUp() override {
    origin.serve("/big.png", samples::png(984, 369, 11));
    origin.serve("/small.png", samples::png(144, 144, 12));
    origin.serve("/wrong-size.png", samples::png(1000, 400, 13));
    gateway = std::make_unique<gateway_under_test>(test_config(oppo.base_url()));
  }

  std::string credentials() const { return basic_header(test_app_key, test_app_secret); }
  std::string wrong_credentials() const { return basic_header(test_app_key, "not-the-secret"); }
  picture_urls both() const { return {origin.url("/big.png"), origin.url("/small.png")}; }

  // One Python call: a new connection, one request, one answer, then the gateway closes.
  raw_response python_call(const std::string& authorization, const picture_urls& urls) {
    raw_connection connection(gateway->port());
    EXPECT_TRUE(connection.connected());
    EXPECT_TRUE(connection.send(python_request(gateway->port(), authorization, python_body(urls))));
    raw_response response = connection.read_response();
    EXPECT_EQ(response.error, "");
    EXPECT_TRUE(connection.closed_by_peer()) << "Connection: close was not honoured";
    return response;
  }

  // Every answer an SDK reads: JSON, identity-encoded whatever Accept-Encoding asked for (both
  // SDKs read the body as it comes; Go's Transport would also have unpacked a gzip one), sized
  // by Content-Length so a kept-alive connection knows where the next answer starts.
  static void expect_plain_json(const raw_response& response) {
    EXPECT_EQ(response.header("content-type"), "application/json") << response.status_line;
    EXPECT_EQ(response.header("content-encoding"), "");
    EXPECT_EQ(response.header("content-length"), std::to_string(response.body.size()));
  }

  // A 200 with an id for both pictures and the X-Cache it should carry; with `earlier`, the same
  // ids as that answer had.
  static sdk_result expect_both_ids(const raw_response& response, std::string_view cache,
                                    const sdk_result* earlier = nullptr) {
    EXPECT_EQ(response.status, 200) << response.body;
    EXPECT_EQ(response.header("x-cache"), cache);
    sdk_result result = decode_result(response.body);
    EXPECT_FALSE(result.big_picture_id.empty()) << response.body;
    EXPECT_FALSE(result.small_picture_id.empty()) << response.body;
    if (earlier != nullptr) {
      EXPECT_EQ(result.big_picture_id, earlier->big_picture_id);
      EXPECT_EQ(result.small_picture_id, earlier->small_picture_id);
    }
    return result;
  }

  fake_origin origin;
  fake_oppo_server oppo;
  std::unique_ptr<gateway_under_test> gateway;
};

TEST_F(SdkCompatTest, PythonSdkGetsBothIdsOnAConnectionTheGatewayCloses) {
  const auto response = python_call(credentials(), both());
  expect_plain_json(response);
  const sdk_result uploaded = expect_both_ids(response, "miss");
  EXPECT_EQ(oppo.api().stats().uploads_accepted, 2U);

  // The next call, on a new connection, is answered from the upload cache with the same ids.
  expect_both_ids(python_call(credentials(), both()), "hit", &uploaded);
  EXPECT_EQ(oppo.api().stats().uploads_accepted, 2U);
}

TEST_F(SdkCompatTest, PythonSdkSeesA51AsHttp200WithoutIdsAndTheCodeInTheBody) {
  // urlopen raises nothing for a 200, so upload_oppo returns a result whose ids are None: the
  // caller tells a refusal apart by the missing id of a picture it asked for, and the code and
  // message are the body's error object.
  const auto local = python_call(credentials(), {origin.url("/wrong-size.png"), ""});
  const json error = expect_error(local, 200, 51, msg_picture, {"big_picture_url", "1000x400"});
  expect_plain_json(local);
  EXPECT_EQ(decode_result(local.body).big_picture_id, "");
  EXPECT_FALSE(error.contains("upstream"));

  // OPPO's own refusal (a daily limit, code 34) reaches the SDK the same way, with upstream.
  oppo.api().script_upload_codes({34});
  const auto refused = python_call(credentials(), {"", origin.url("/small.png")});
  const json oppo_error = expect_error(refused, 200, 51, msg_picture, {"small_picture"});
  EXPECT_EQ(decode_result(refused.body).small_picture_id, "");
  ASSERT_TRUE(oppo_error.contains("upstream")) << refused.body;
  EXPECT_EQ(oppo_error["upstream"].value("code", 0), 34);
}

TEST_F(SdkCompatTest, PythonSdkGetsTheApiErrorItParsesForA401) {
  // parse_api_error reads error.code and error.message of a non-2xx body into ApiError.
  const auto response = python_call(wrong_credentials(), both());
  expect_error(response, 401, 23001, msg_auth);
  EXPECT_EQ(response.header("www-authenticate"), "Basic realm=\"image-gateway\"");
  EXPECT_EQ(oppo.api().stats().upload_requests, 0U);
}

TEST_F(SdkCompatTest, GoSdkKeepsOneConnectionAliveForEveryCall) {
  raw_connection connection(gateway->port());
  ASSERT_TRUE(connection.connected());
  const auto call = [&](const std::string& authorization, const picture_urls& urls) {
    EXPECT_TRUE(connection.send(go_request(gateway->port(), authorization, go_body(urls))));
    raw_response response = connection.read_response();
    EXPECT_EQ(response.error, "");
    EXPECT_EQ(response.status_line.rfind("HTTP/1.1 ", 0), 0U) << response.status_line;
    expect_plain_json(response);
    return response;
  };
  // Every answer but the last leaves the connection open for the Transport's next call.
  const auto kept_alive = [&](const std::string& authorization, const picture_urls& urls) {
    raw_response response = call(authorization, urls);
    EXPECT_NE(response.header("connection"), "close") << "the gateway ended a kept-alive call";
    return response;
  };

  const sdk_result uploaded = expect_both_ids(kept_alive(credentials(), both()), "miss");
  ASSERT_FALSE(uploaded.small_picture_id.empty());
  expect_both_ids(kept_alive(credentials(), both()), "hit", &uploaded);

  // One picture per call, as the SDK's omitempty fields send it: only that id comes back.
  const auto small_only = kept_alive(credentials(), {"", origin.url("/small.png")});
  ASSERT_EQ(small_only.status, 200) << small_only.body;
  EXPECT_EQ(json::parse(small_only.body), json({{"small_picture_id", uploaded.small_picture_id}}));

  // A 51 is a 2xx for Go's doRequest too: err is nil and the result's ids are "".
  const auto refused = kept_alive(credentials(), {origin.url("/wrong-size.png"), ""});
  expect_error(refused, 200, 51, msg_picture, {"big_picture_url"});
  EXPECT_EQ(decode_result(refused.body).big_picture_id, "");

  // A 401 is an *ApiError with the body's code and message (last: it may end the connection).
  const auto unauthorized = call(wrong_credentials(), both());
  expect_error(unauthorized, 401, 23001, msg_auth);

  EXPECT_EQ(oppo.api().stats().uploads_accepted, 2U);
  EXPECT_EQ(oppo.api().stats().auth_requests, 1U);
}

}  // namespace
}  // namespace image_gateway::testing
