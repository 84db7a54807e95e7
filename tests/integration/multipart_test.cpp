// Image bytes instead of URLs (docs/api.md#multipart-image-bytes) and dry runs
// (docs/api.md#checking-without-uploading-dry_runtrue): the real gateway on
// 127.0.0.1:0, multipart bodies sent the way `curl -F` sends them (libcurl's own mime API) or
// byte by byte when they must be malformed, against a fake OPPO that records every call.
#include <gtest/gtest.h>

#include <cstdio>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <vector>

#include "fakes/test_servers.hpp"
#include "image_gateway/util/sample_images.hpp"
#include "image_gateway/util/sha256.hpp"
#include "integration/error_assertions.hpp"

namespace image_gateway::testing {
namespace {

using nlohmann::json;

using form_field = form_part;

// What `curl -u test-app:test-secret -F big_picture=@b.png … URL` does.
client_response curl_form(const std::string& url, const std::vector<form_field>& fields,
                          const std::vector<std::string>& headers = {
                              basic_header(test_app_key, test_app_secret)}) {
  return form_call(url, fields, headers);
}

form_field file(std::string name, std::string data, std::string filename = "image.png",
                std::string type = "image/png") {
  return {std::move(name), std::move(data), std::move(filename), std::move(type)};
}

constexpr const char* boundary = "gw-test-boundary-7f3a";
const std::string form_type =
    std::string("Content-Type: multipart/form-data; boundary=") + boundary;

// A part written byte by byte, for bodies curl would never send.
std::string raw_part(const std::string& name, const std::string& data) {
  return std::string("--") + boundary + "\r\nContent-Disposition: form-data; name=\"" + name +
         "\"; filename=\"x.png\"\r\nContent-Type: image/png\r\n\r\n" + data + "\r\n";
}
std::string raw_closing() { return std::string("--") + boundary + "--\r\n"; }

class MultipartTest : public ::testing::Test {
 protected:
  void SetUp() override {
    big = samples::png(984, 369, 61);
    small = samples::png(144, 144, 62);
  }
  config settings() { return test_config(oppo.base_url()); }
  gateway_under_test& start(config c) {
    gateway = std::make_unique<gateway_under_test>(std::move(c));
    return *gateway;
  }
  gateway_under_test& start() { return start(settings()); }
  std::string endpoint(const std::string& query = "") const {
    return gateway->url("/v4/image/oppo" + query);
  }
  client_response post_raw(const std::string& body, const std::string& type_header = form_type) {
    return http_call("POST", endpoint(), body,
                     {basic_header(test_app_key, test_app_secret), type_header});
  }

  std::string big;
  std::string small;
  fake_origin origin;
  fake_oppo_server oppo;
  std::unique_ptr<gateway_under_test> gateway;
};

// ---------------------------------------------------------------- uploads from the body

TEST_F(MultipartTest, OneFilePartIsUploaded) {
  start();
  const auto response = curl_form(endpoint(), {file("small_picture", small, "s.png")});
  ASSERT_EQ(response.status, 200) << response.body << response.error;
  const json answer = json::parse(response.body);
  EXPECT_EQ(answer.size(), 1u) << response.body;  // only what was asked for
  EXPECT_FALSE(answer.at("small_picture_id").get<std::string>().empty());
  EXPECT_EQ(response.header("x-cache"), "miss");
  EXPECT_EQ(oppo.api().stats().uploads_accepted, 1U);
  EXPECT_EQ(origin.total_hits(), 0U);
}

TEST_F(MultipartTest, TwoFilePartsAndIgnoredPartsAreUploaded) {
  start();
  const auto response = curl_form(
      endpoint(), {{"campaign", "spring", "", ""},
                   file("big_picture", big, "b.png"),
                   file("small_picture", samples::jpeg(144, 144, 63), "s.jpg", "image/jpeg"),
                   file("other_file", "not an image", "notes.txt", "text/plain")});
  ASSERT_EQ(response.status, 200) << response.body << response.error;
  const json answer = json::parse(response.body);
  EXPECT_EQ(answer.size(), 2u) << response.body;
  EXPECT_FALSE(answer.at("big_picture_id").get<std::string>().empty());
  EXPECT_FALSE(answer.at("small_picture_id").get<std::string>().empty());
  EXPECT_NE(answer.at("big_picture_id"), answer.at("small_picture_id"));
  EXPECT_EQ(oppo.api().stats().uploads_accepted, 2U);  // the fake OPPO checked both images
}

// The body is larger than max_body_bytes but within the multipart limit: the limit follows the
// Content-Type.
TEST_F(MultipartTest, MultipartLimitAppliesNotTheJsonOne) {
  config c = settings();
  c.server.max_body_bytes = 256;
  auto& gw = start(c);
  ASSERT_GT(small.size(), 256u);
  const auto response = curl_form(endpoint(), {file("small_picture", small)});
  ASSERT_EQ(response.status, 200) << response.body << response.error;
  // And a JSON body of that size is still 413.
  expect_error(post_images(gw, json{{"pad", std::string(400, 'x')}}.dump()), 413, 21003,
               msg_invalid, {"max_body_bytes"});
}

TEST_F(MultipartTest, SameBytesAgainAreACacheHitAcrossUrlAndMultipart) {
  origin.serve("/s.png", small);
  auto& gw = start();
  const auto first = curl_form(endpoint(), {file("small_picture", small)});
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(first.header("x-cache"), "miss");
  const auto second = curl_form(endpoint(), {file("small_picture", small)});
  ASSERT_EQ(second.status, 200) << second.body;
  EXPECT_EQ(second.header("x-cache"), "hit");
  EXPECT_EQ(json::parse(second.body), json::parse(first.body));
  // The same bytes by URL: the same cache entry.
  const auto by_url = post_images(gw, json{{"small_picture_url", origin.url("/s.png")}}.dump());
  ASSERT_EQ(by_url.status, 200) << by_url.body;
  EXPECT_EQ(by_url.header("x-cache"), "hit");
  EXPECT_EQ(json::parse(by_url.body), json::parse(first.body));
  EXPECT_EQ(oppo.api().stats().upload_requests, 1U);
}

// ---------------------------------------------------------------- errors

TEST_F(MultipartTest, PartOverItsByteLimitIs51) {
  start();
  const std::string padded = samples::pad_png(small, 51201);
  const auto response = curl_form(endpoint(), {file("small_picture", padded)});
  const auto error =
      expect_error(response, 200, 51, msg_picture, {"small_picture", "51201", "51200"});
  EXPECT_FALSE(error.contains("upstream"));
  // Exactly at the limit is fine.
  const auto at_limit =
      curl_form(endpoint(), {file("small_picture", samples::pad_png(small, 51200))});
  EXPECT_EQ(at_limit.status, 200) << at_limit.body;
  EXPECT_EQ(oppo.api().stats().uploads_accepted, 1U);
}

TEST_F(MultipartTest, BadImagesAre51NamingThePart) {
  start();
  expect_error(curl_form(endpoint(), {file("big_picture", samples::png(1000, 400, 64))}), 200, 51,
               msg_picture, {"big_picture:", "1000x400", "984x369"});
  expect_error(curl_form(endpoint(), {file("small_picture", "GIF89a....", "s.gif", "image/gif")}),
               200, 51, msg_picture, {"small_picture:", "GIF"});
  // A good big part and a bad small one: nothing is uploaded.
  expect_error(curl_form(endpoint(), {file("big_picture", big), file("small_picture", "")}), 200,
               51, msg_picture, {"small_picture:", "empty"});
  EXPECT_EQ(oppo.api().stats().upload_requests, 0U);
}

TEST_F(MultipartTest, NeitherImagePartIs23002) {
  start();
  expect_error(curl_form(endpoint(), {{"big_picture_url", "http://127.0.0.1/b.png", "", ""},
                                      file("picture", small)}),
               400, 23002, msg_missing, {"big_picture", "small_picture"});
  expect_error(post_raw(raw_closing()), 400, 23002, msg_missing);
}

struct malformed_case {
  const char* name;
  std::string content_type;
  std::string body;
  const char* mention;
};

// gtest prints a failing test's parameter: its name, not its bytes.
void PrintTo(const malformed_case& value, std::ostream* out) { *out << value.name; }

class MalformedMultipartTest : public MultipartTest,
                               public ::testing::WithParamInterface<malformed_case> {};

TEST_P(MalformedMultipartTest, Is21003SayingWhatIsWrong) {
  start();
  const malformed_case& c = GetParam();
  const auto response = post_raw(c.body, "Content-Type: " + c.content_type);
  const auto error = expect_error(response, 400, 21003, msg_invalid, {"multipart", c.mention});
  EXPECT_EQ(oppo.api().stats().auth_requests + oppo.api().stats().upload_requests, 0U);
}

const std::string form_media = std::string("multipart/form-data; boundary=") + boundary;
const std::string one_part = raw_part("small_picture", "x");

INSTANTIATE_TEST_SUITE_P(
    EveryKind, MalformedMultipartTest,
    ::testing::Values(
        malformed_case{"NoBoundary", "multipart/form-data", one_part + raw_closing(),
                       "no boundary"},
        malformed_case{"BadBoundary", "multipart/form-data; boundary=\"a{b}\"",
                       one_part + raw_closing(), "boundary"},
        malformed_case{"OtherBoundary", "multipart/form-data; boundary=other",
                       one_part + raw_closing(), "no delimiter line"},
        malformed_case{"BareLf", form_media,
                       std::string("--") + boundary +
                           "\nContent-Disposition: form-data; name=small_picture\n\nx\n--" +
                           boundary + "--\n",
                       "CRLF"},
        malformed_case{"NoEmptyLineAfterHeaders", form_media,
                       std::string("--") + boundary +
                           "\r\nContent-Disposition: form-data; name=small_picture\r\n",
                       "empty line"},
        malformed_case{"NoClosingDelimiter", form_media, one_part, "no closing delimiter"},
        malformed_case{"TextAfterTheBoundary", form_media,
                       one_part + "--" + boundary + "junk\r\n" + raw_closing(), "CRLF"},
        malformed_case{
            "DuplicatePart", form_media,
            raw_part("small_picture", "x") + raw_part("small_picture", "y") + raw_closing(),
            "given twice"},
        malformed_case{"HugePartHeader", form_media,
                       std::string("--") + boundary +
                           "\r\nContent-Disposition: form-data; name=small_picture\r\nX-Pad: " +
                           std::string(4000, 'p') + "\r\n\r\nx\r\n" + raw_closing(),
                       "header block is larger than 2048 bytes"},
        malformed_case{"NoDisposition", form_media,
                       std::string("--") + boundary + "\r\nContent-Type: image/png\r\n\r\nx\r\n" +
                           raw_closing(),
                       "no Content-Disposition"},
        malformed_case{"Base64Part", form_media,
                       std::string("--") + boundary +
                           "\r\nContent-Disposition: form-data; name=small_picture\r\n"
                           "Content-Transfer-Encoding: base64\r\n\r\neA==\r\n" +
                           raw_closing(),
                       "base64"},
        malformed_case{"TooManyParts", form_media,
                       [] {
                         std::string body;
                         for (int i = 0; i < 17; ++i) body += raw_part("p" + std::to_string(i), "");
                         return body + raw_closing();
                       }(),
                       "more than 16 parts"},
        malformed_case{"Empty", form_media, "", "no delimiter line"}),
    [](const ::testing::TestParamInfo<malformed_case>& case_info) {
      return std::string(case_info.param.name);
    });

// Route, credentials and rate limit come before the body, multipart or not.
TEST_F(MultipartTest, CredentialsBeforeAMalformedBody) {
  start();
  const auto response = http_call("POST", endpoint(), "garbage",
                                  {basic_header(test_app_key, "wrong-secret"), form_type});
  expect_error(response, 401, 23001, msg_auth);
}

// ---------------------------------------------------------------- server.max_body_multipart_bytes

TEST_F(MultipartTest, ContentLengthOverTheMultipartLimitIs413BeforeReading) {
  config c = settings();
  c.server.max_body_multipart_bytes = 5000;
  auto& gw = start(c);
  const std::string body = raw_part("small_picture", std::string(6000, 'x')) + raw_closing();
  raw_connection connection(gw.port());
  ASSERT_TRUE(connection.connected());
  // Only the header is sent: the answer comes without the body.
  ASSERT_TRUE(connection.send("POST /v4/image/oppo HTTP/1.1\r\nHost: 127.0.0.1\r\n" +
                              basic_header(test_app_key, test_app_secret) + "\r\n" + form_type +
                              "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n"));
  const raw_response response = connection.read_response();
  expect_error(response, 413, 21003, msg_invalid, {"max_body_multipart_bytes", "5000"});
  EXPECT_TRUE(connection.closed_by_peer());

  // The documented order of checks holds: a wrong password is 401, an unknown path 404, whatever
  // the size.
  expect_error(
      http_call("POST", endpoint(), body, {basic_header(test_app_key, "wrong-secret"), form_type}),
      401, 23001, msg_auth);
  expect_error(http_call("POST", gw.url("/v4/image/nowhere"), body, {form_type}), 404, 21001,
               msg_route);
  EXPECT_EQ(oppo.api().stats().upload_requests, 0U);
}

// A chunked body has no Content-Length: it is counted as it is read.
TEST_F(MultipartTest, ChunkedBodyOverTheMultipartLimitIs413) {
  config c = settings();
  c.server.max_body_multipart_bytes = 5000;
  auto& gw = start(c);
  raw_connection connection(gw.port());
  ASSERT_TRUE(connection.connected());
  std::string request = "POST /v4/image/oppo HTTP/1.1\r\nHost: 127.0.0.1\r\n" +
                        basic_header(test_app_key, test_app_secret) + "\r\n" + form_type +
                        "\r\nTransfer-Encoding: chunked\r\n\r\n";
  const std::string chunk(1000, 'x');
  for (int i = 0; i < 8; ++i) request += "3e8\r\n" + chunk + "\r\n";
  request += "0\r\n\r\n";
  ASSERT_TRUE(connection.send(request));
  const raw_response response = connection.read_response();
  expect_error(response, 413, 21003, msg_invalid, {"max_body_multipart_bytes"});
  EXPECT_TRUE(connection.closed_by_peer());
  EXPECT_EQ(oppo.api().stats().upload_requests, 0U);
}

TEST_F(MultipartTest, ChunkedBodyWithinTheLimitIsUploaded) {
  auto& gw = start();
  const std::string body = raw_part("small_picture", small) + raw_closing();
  raw_connection connection(gw.port());
  ASSERT_TRUE(connection.connected());
  std::string request = "POST /v4/image/oppo HTTP/1.1\r\nHost: 127.0.0.1\r\n" +
                        basic_header(test_app_key, test_app_secret) + "\r\n" + form_type +
                        "\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (std::size_t at = 0; at < body.size(); at += 700) {
    const std::string piece = body.substr(at, 700);
    char size_line[32];
    std::snprintf(size_line, sizeof size_line, "%zx\r\n", piece.size());
    request += size_line + piece + "\r\n";
  }
  request += "0\r\n\r\n";
  ASSERT_TRUE(connection.send(request));
  const raw_response response = connection.read_response();
  ASSERT_EQ(response.status, 200) << response.body << response.error;
  EXPECT_TRUE(json::parse(response.body).contains("small_picture_id"));
  EXPECT_EQ(oppo.api().stats().uploads_accepted, 1U);
}

// ---------------------------------------------------------------- ?dry_run=true

class DryRunTest : public MultipartTest {
 protected:
  void SetUp() override {
    MultipartTest::SetUp();
    origin.serve("/big.png", big);
    origin.serve("/small.png", small);
  }
  // A dry run must not call OPPO at all: this one counts every request that reaches it.
  fixed_answer_server silent_oppo{500, R"({"code":-1,"message":"must not be called"})",
                                  "application/json"};
  config no_oppo_settings() { return test_config(silent_oppo.base_url()); }
  std::string both() const {
    return json{{"big_picture_url", origin.url("/big.png")},
                {"small_picture_url", origin.url("/small.png")}}
        .dump();
  }
};

void expect_facts(const json& facts, const std::string& format, int width, int height,
                  const std::string& bytes, bool cached) {
  EXPECT_EQ(facts.at("format"), format);
  EXPECT_EQ(facts.at("width"), width);
  EXPECT_EQ(facts.at("height"), height);
  EXPECT_EQ(facts.at("bytes"), bytes.size());
  EXPECT_EQ(facts.at("sha256"), sha256_hex(bytes));
  EXPECT_EQ(facts.at("cached"), cached);
  EXPECT_EQ(facts.size(), 6u) << facts.dump();
}

TEST_F(DryRunTest, GoodImagesAnswerTheirFactsAndNothingReachesOppo) {
  auto& gw = start(no_oppo_settings());
  const auto response = http_call("POST", endpoint("?dry_run=true"), both(),
                                  {basic_header(test_app_key, test_app_secret)});
  ASSERT_EQ(response.status, 200) << response.body << response.error;
  EXPECT_EQ(response.header("content-type"), "application/json");
  const json answer = json::parse(response.body);
  ASSERT_EQ(answer.size(), 2u) << response.body;
  expect_facts(answer.at("big_picture"), "png", 984, 369, big, false);
  expect_facts(answer.at("small_picture"), "png", 144, 144, small, false);
  EXPECT_EQ(origin.hits("/big.png"), 1U);  // fetched like a real call
  EXPECT_EQ(silent_oppo.hits(), 0U);       // no token, no upload
  (void)gw;
}

TEST_F(DryRunTest, OneImageAndAJpegWithDryRun1) {
  const std::string jpeg = samples::jpeg(144, 144, 65);
  origin.serve("/s.jpg", jpeg);
  start(no_oppo_settings());
  const auto response = http_call("POST", endpoint("?dry_run=1"),
                                  json{{"small_picture_url", origin.url("/s.jpg")}}.dump(),
                                  {basic_header(test_app_key, test_app_secret)});
  ASSERT_EQ(response.status, 200) << response.body;
  const json answer = json::parse(response.body);
  ASSERT_EQ(answer.size(), 1u);
  expect_facts(answer.at("small_picture"), "jpeg", 144, 144, jpeg, false);
  EXPECT_EQ(silent_oppo.hits(), 0U);
}

TEST_F(DryRunTest, BadImagesGiveTheErrorsOfTheRealCall) {
  origin.serve("/wrong.png", samples::png(100, 100, 66));
  const std::string cut = small.substr(0, small.size() * 2 / 3);
  origin.serve("/cut.png", cut);
  auto& gw = start(no_oppo_settings());
  const auto dry = [&](const json& body) {
    return http_call("POST", endpoint("?dry_run=true"), body.dump(),
                     {basic_header(test_app_key, test_app_secret)});
  };
  expect_error(dry({{"small_picture_url", origin.url("/wrong.png")}}), 200, 51, msg_picture,
               {"small_picture_url", "100x100"});
  expect_error(dry({{"small_picture_url", origin.url("/cut.png")}}), 200, 51, msg_picture,
               {"does not decode"});
  expect_error(dry({{"small_picture_url", origin.url("/missing.png")}}), 400, 21003, msg_invalid,
               {"small_picture_url", "404"});
  expect_error(dry({{"small_picture_url", "ftp://example.com/s.png"}}), 400, 21003, msg_invalid,
               {"small_picture_url"});
  expect_error(dry(json::object()), 400, 23002, msg_missing);
  EXPECT_EQ(silent_oppo.hits(), 0U);
  (void)gw;
}

TEST_F(DryRunTest, CachedSaysWhetherTheUploadCacheHoldsAnId) {
  auto& gw = start();  // the recording fake OPPO
  ASSERT_EQ(post_images(gw, json{{"big_picture_url", origin.url("/big.png")}}.dump()).status, 200);
  const auto before = oppo.api().stats();
  ASSERT_EQ(before.uploads_accepted, 1U);

  const auto response = http_call("POST", endpoint("?dry_run=true"), both(),
                                  {basic_header(test_app_key, test_app_secret)});
  ASSERT_EQ(response.status, 200) << response.body;
  const json answer = json::parse(response.body);
  expect_facts(answer.at("big_picture"), "png", 984, 369, big, true);
  expect_facts(answer.at("small_picture"), "png", 144, 144, small, false);
  const auto after = oppo.api().stats();
  EXPECT_EQ(after.auth_requests, before.auth_requests);
  EXPECT_EQ(after.upload_requests, before.upload_requests);

  // The dry run did not fill the cache: the small picture is still a miss for the real call.
  const auto real = post_images(gw, both());
  ASSERT_EQ(real.status, 200) << real.body;
  EXPECT_EQ(real.header("x-cache"), "miss");
  EXPECT_EQ(oppo.api().stats().uploads_accepted, 2U);
}

TEST_F(DryRunTest, WithTheCacheOffDigestsAreStillGiven) {
  config c = no_oppo_settings();
  c.cache.max_entries = 0;
  start(c);
  const auto response = http_call("POST", endpoint("?dry_run=true"), both(),
                                  {basic_header(test_app_key, test_app_secret)});
  ASSERT_EQ(response.status, 200) << response.body;
  expect_facts(json::parse(response.body).at("big_picture"), "png", 984, 369, big, false);
  EXPECT_EQ(silent_oppo.hits(), 0U);
}

TEST_F(DryRunTest, MultipartBodies) {
  start(no_oppo_settings());
  const auto response = curl_form(endpoint("?dry_run=true"),
                                  {file("big_picture", big), file("small_picture", small)});
  ASSERT_EQ(response.status, 200) << response.body;
  const json answer = json::parse(response.body);
  expect_facts(answer.at("big_picture"), "png", 984, 369, big, false);
  expect_facts(answer.at("small_picture"), "png", 144, 144, small, false);
  expect_error(curl_form(endpoint("?dry_run=true"), {file("big_picture", small)}), 200, 51,
               msg_picture, {"big_picture:", "144x144"});
  EXPECT_EQ(silent_oppo.hits(), 0U);
}

TEST_F(DryRunTest, AnyOtherValueIs21003) {
  auto& gw = start(no_oppo_settings());
  for (const std::string query :
       {"?dry_run=maybe", "?dry_run=false", "?dry_run=", "?dry_run", "?dry_run=true&dry_run=1"}) {
    SCOPED_TRACE(query);
    expect_error(
        http_call("POST", endpoint(query), both(), {basic_header(test_app_key, test_app_secret)}),
        400, 21003, msg_invalid, {"dry_run"});
  }
  // Credentials still come first.
  expect_error(
      http_call("POST", endpoint("?dry_run=maybe"), both(), {basic_header(test_app_key, "wrong")}),
      401, 23001, msg_auth);
  EXPECT_EQ(origin.total_hits(), 0U);
  EXPECT_EQ(silent_oppo.hits(), 0U);
  (void)gw;
}

}  // namespace
}  // namespace image_gateway::testing

// ---------------------------------------------------------------- fitting (issue 12) in both forms

namespace image_gateway::testing {
namespace {

TEST_F(MultipartTest, FitAndBackgroundPartsFitThePicture) {
  start();
  const auto response =
      curl_form(endpoint(), {file("big_picture", samples::png(1000, 200, 67), "wide.png"),
                             {"fit", "contain", "", ""},
                             {"background", "#000000", "", ""}});
  ASSERT_EQ(response.status, 200) << response.body << response.error;
  const auto id = json::parse(response.body).at("big_picture_id").get<std::string>();
  const auto uploaded = oppo.api().uploaded_file(id);
  ASSERT_TRUE(uploaded.has_value());
  const auto image = samples::decode_rgba(*uploaded);
  ASSERT_TRUE(image.has_value());
  EXPECT_EQ(image->width, 984);
  EXPECT_EQ(image->height, 369);
  // The bars are the background the text part named: the first row is black.
  EXPECT_EQ(image->pixels[0], 0);
  EXPECT_EQ(image->pixels[1], 0);
  EXPECT_EQ(image->pixels[2], 0);

  expect_error(curl_form(endpoint(), {file("big_picture", big), {"fit", "stretch", "", ""}}), 400,
               21003, msg_invalid, {"fit"});
  expect_error(curl_form(endpoint(), {file("big_picture", big), {"background", "black", "", ""}}),
               400, 21003, msg_invalid, {"background"});
}

TEST_F(DryRunTest, WithAFitTheFactsAreThoseOfWhatWouldBeUploaded) {
  const std::string wide = samples::png(1968, 738, 68);
  origin.serve("/wide.png", wide);
  auto& gw = start(no_oppo_settings());
  const auto dry = [&](const json& body) {
    return http_call("POST", endpoint("?dry_run=true"), body.dump(),
                     {basic_header(test_app_key, test_app_secret)});
  };
  const auto fitted = dry({{"big_picture_url", origin.url("/wide.png")}, {"fit", "contain"}});
  ASSERT_EQ(fitted.status, 200) << fitted.body;
  const json facts = json::parse(fitted.body).at("big_picture");
  EXPECT_EQ(facts.at("width"), 984);
  EXPECT_EQ(facts.at("height"), 369);
  EXPECT_EQ(facts.at("fitted"), true);
  EXPECT_NE(facts.at("sha256"), sha256_hex(wide));  // the gateway's encoding, not the source
  EXPECT_NE(facts.at("bytes"), wide.size());

  // An exact-size source goes as it came: its own facts, "fitted": false.
  const auto untouched = dry({{"big_picture_url", origin.url("/big.png")}, {"fit", "cover"}});
  ASSERT_EQ(untouched.status, 200) << untouched.body;
  const json same = json::parse(untouched.body).at("big_picture");
  EXPECT_EQ(same.at("fitted"), false);
  EXPECT_EQ(same.at("sha256"), sha256_hex(big));
  EXPECT_EQ(silent_oppo.hits(), 0U);
  (void)gw;
}

}  // namespace
}  // namespace image_gateway::testing
