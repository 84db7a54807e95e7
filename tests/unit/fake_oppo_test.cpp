#include "image_gateway/oppo/fake_oppo.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>

#include "image_gateway/oppo/protocol.hpp"
#include "image_gateway/util/sample_images.hpp"

namespace image_gateway::oppo {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;

const oppo_credentials app{"oppo-key", "oppo-secret"};

fake_oppo::options test_options() {
  fake_oppo::options options;
  options.apps = {app, {"second-key", "second-secret"}};
  return options;
}

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

api_request post(std::string path, std::string content_type, std::string body) {
  api_request request;
  request.method = "POST";
  request.target = path;
  request.path = std::move(path);
  request.headers = {{"content-type", std::move(content_type)}};
  request.body = std::move(body);
  return request;
}

api_request auth_request(std::string body) {
  return post("/server/v1/auth", "application/x-www-form-urlencoded", std::move(body));
}

json body_of(const fake_reply& reply) { return json::parse(reply.response.body); }

int code_of(const fake_reply& reply) { return body_of(reply).at("code").get<int>(); }

std::string issue_token(fake_oppo& oppo) {
  const auto reply =
      oppo.handle(auth_request(auth_form_body(app.app_key, app.master_secret, now_ms())));
  return body_of(reply).at("data").at("auth_token").get<std::string>();
}

struct part_spec {
  std::string name;
  std::string data;
  std::string filename;
  std::string content_type;
};

std::string multipart_body(const std::string& boundary, const std::vector<part_spec>& parts) {
  std::string body;
  for (const auto& p : parts) {
    body += "--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + p.name + "\"";
    if (!p.filename.empty()) body += "; filename=\"" + p.filename + "\"";
    body += "\r\n";
    if (!p.content_type.empty()) body += "Content-Type: " + p.content_type + "\r\n";
    body += "\r\n" + p.data + "\r\n";
  }
  body += "--" + boundary + "--\r\n";
  return body;
}

api_request upload_request(image_kind kind, const std::vector<part_spec>& parts) {
  return post("/server/v1/media/upload/" + std::string(kind_name(kind)),
              "multipart/form-data; boundary=----b0undary", multipart_body("----b0undary", parts));
}

std::vector<part_spec> good_parts(const std::string& token, const std::string& png) {
  return {{"auth_token", token, "", ""},
          {"picture_ttl", "2592000", "", ""},
          {"file", png, "big_picture.png", "image/png"}};
}

// ---- auth ----

TEST(FakeOppoAuth, IssuesATokenForAGoodSign) {
  fake_oppo oppo(test_options());
  const auto before = now_ms();
  const auto reply =
      oppo.handle(auth_request(auth_form_body(app.app_key, app.master_secret, now_ms())));
  EXPECT_EQ(reply.response.status, 200);
  EXPECT_EQ(reply.response.content_type, "application/json");
  const json body = body_of(reply);
  EXPECT_EQ(body.at("code"), 0);
  const std::string token = body.at("data").at("auth_token").get<std::string>();
  EXPECT_EQ(token.size(), 32u);
  EXPECT_EQ(token.find_first_not_of("0123456789abcdef"), std::string::npos);
  ASSERT_TRUE(body.at("data").at("create_time").is_number_integer());
  EXPECT_GE(body.at("data").at("create_time").get<std::int64_t>(), before);

  // The answer is what the real client parses.
  const auto parsed = parse_auth_answer(reply.response.body, std::chrono::system_clock::now());
  ASSERT_TRUE(std::holds_alternative<auth_token>(parsed));
  EXPECT_EQ(std::get<auth_token>(parsed).token, token);

  EXPECT_NE(issue_token(oppo), token);  // a new token each time
  EXPECT_EQ(oppo.stats().auth_requests, 2u);
}

TEST(FakeOppoAuth, RefusesBadRequestsWithOpposCodes) {
  fake_oppo oppo(test_options());
  const auto ts = now_ms();
  const std::string good_sign = auth_sign(app.app_key, ts, app.master_secret);
  const std::string t = std::to_string(ts);
  const std::vector<std::pair<std::string, int>> cases = {
      {"timestamp=" + t + "&sign=" + good_sign, 15},
      {"app_key=&timestamp=" + t + "&sign=" + good_sign, 15},
      {"app_key=unknown&timestamp=" + t + "&sign=" + good_sign, 14},
      {"app_key=oppo-key&sign=" + good_sign, 18},
      {"app_key=oppo-key&timestamp=soon&sign=" + good_sign, 19},
      {"app_key=oppo-key&timestamp=" + t, 17},
      {"app_key=oppo-key&timestamp=" + t + "&sign=" + std::string(64, '0'), 16},
      // The sign of another app's secret.
      {"app_key=oppo-key&timestamp=" + t + "&sign=" + auth_sign("oppo-key", ts, "second-secret"),
       16},
      {"app_key=oppo-key&timestamp=%zz", 41},
  };
  for (const auto& [body, code] : cases) {
    const auto reply = oppo.handle(auth_request(body));
    EXPECT_EQ(reply.response.status, 200) << body;
    EXPECT_EQ(code_of(reply), code) << body;
    EXPECT_FALSE(body_of(reply).contains("data")) << body;
  }
}

TEST(FakeOppoAuth, TimestampMustBeWithinTheWindow) {
  fake_oppo oppo(test_options());
  for (const std::int64_t offset : {-11 * 60 * 1000, 11 * 60 * 1000}) {
    const auto ts = now_ms() + offset;
    const auto reply =
        oppo.handle(auth_request(auth_form_body(app.app_key, app.master_secret, ts)));
    EXPECT_EQ(code_of(reply), 19) << offset;
  }
  const auto inside = now_ms() - 5 * 60 * 1000;
  EXPECT_EQ(
      code_of(oppo.handle(auth_request(auth_form_body(app.app_key, app.master_secret, inside)))),
      0);
}

TEST(FakeOppoAuth, WrongContentTypeIsRefused) {
  fake_oppo oppo(test_options());
  auto request = auth_request(auth_form_body(app.app_key, app.master_secret, now_ms()));
  request.headers = {{"content-type", "application/json"}};
  EXPECT_EQ(code_of(oppo.handle(request)), 41);
}

TEST(FakeOppoAuth, ScriptedCodesComeFirst) {
  fake_oppo oppo(test_options());
  oppo.script_auth_codes({-1, 13});
  const std::string body = auth_form_body(app.app_key, app.master_secret, now_ms());
  EXPECT_EQ(code_of(oppo.handle(auth_request(body))), -1);
  EXPECT_EQ(code_of(oppo.handle(auth_request(body))), 13);
  EXPECT_EQ(code_of(oppo.handle(auth_request(body))), 0);
  EXPECT_EQ(oppo.stats().auth_requests, 3u);
}

// ---- upload ----

TEST(FakeOppoUpload, AcceptsAGoodPictureWithUniqueIds) {
  fake_oppo oppo(test_options());
  const std::string token = issue_token(oppo);
  const std::string png = samples::png(984, 369);
  std::set<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    const auto reply = oppo.handle(upload_request(image_kind::big, good_parts(token, png)));
    EXPECT_EQ(reply.response.status, 200);
    const json body = body_of(reply);
    ASSERT_EQ(body.at("code"), 0) << reply.response.body;
    EXPECT_EQ(body.at("message"), "success");
    const auto id = parse_upload_answer(reply.response.body, image_kind::big);
    ASSERT_TRUE(std::holds_alternative<std::string>(id));
    ids.insert(std::get<std::string>(id));
  }
  EXPECT_EQ(ids.size(), 3u);
  const auto stats = oppo.stats();
  EXPECT_EQ(stats.upload_requests, 3u);
  EXPECT_EQ(stats.uploads_accepted, 3u);
  EXPECT_EQ(stats.last_upload_token, token);
}

TEST(FakeOppoUpload, SmallJpeg) {
  fake_oppo oppo(test_options());
  const std::string token = issue_token(oppo);
  const auto reply = oppo.handle(upload_request(
      image_kind::small, {{"auth_token", token, "", ""},
                          {"picture_ttl", "3600", "", ""},
                          {"file", samples::jpeg(144, 144), "small_picture.jpg", "image/jpeg"}}));
  ASSERT_EQ(code_of(reply), 0) << reply.response.body;
  EXPECT_TRUE(body_of(reply).at("data").contains("small_picture_id"));
}

TEST(FakeOppoUpload, TokenMissingUnknownOrRevoked) {
  fake_oppo oppo(test_options());
  const std::string png = samples::png(984, 369);
  const std::string token = issue_token(oppo);

  EXPECT_EQ(code_of(oppo.handle(upload_request(
                image_kind::big,
                {{"picture_ttl", "60", "", ""}, {"file", png, "big_picture.png", "image/png"}}))),
            29);
  EXPECT_EQ(code_of(oppo.handle(upload_request(image_kind::big, good_parts("", png)))), 29);
  EXPECT_EQ(code_of(oppo.handle(upload_request(image_kind::big, good_parts("made-up", png)))), 11);
  EXPECT_EQ(oppo.stats().last_upload_token, "made-up");

  EXPECT_EQ(code_of(oppo.handle(upload_request(image_kind::big, good_parts(token, png)))), 0);
  oppo.revoke_tokens();
  EXPECT_EQ(code_of(oppo.handle(upload_request(image_kind::big, good_parts(token, png)))), 11);
  const std::string fresh = issue_token(oppo);
  EXPECT_EQ(code_of(oppo.handle(upload_request(image_kind::big, good_parts(fresh, png)))), 0);
}

TEST(FakeOppoUpload, PictureTtlMustBeInRange) {
  fake_oppo oppo(test_options());
  const std::string token = issue_token(oppo);
  const std::string png = samples::png(984, 369);
  for (const char* ttl : {"0", "-1", "2592001", "abc", "", "10s"}) {
    auto parts = good_parts(token, png);
    parts[1].data = ttl;
    EXPECT_EQ(code_of(oppo.handle(upload_request(image_kind::big, parts))), 41) << ttl;
  }
  auto without_ttl = good_parts(token, png);
  without_ttl.erase(without_ttl.begin() + 1);
  EXPECT_EQ(code_of(oppo.handle(upload_request(image_kind::big, without_ttl))), 40);
  auto without_file = good_parts(token, png);
  without_file.pop_back();
  EXPECT_EQ(code_of(oppo.handle(upload_request(image_kind::big, without_file))), 40);
  auto edge = good_parts(token, png);
  edge[1].data = "1";
  EXPECT_EQ(code_of(oppo.handle(upload_request(image_kind::big, edge))), 0);
}

TEST(FakeOppoUpload, FileNameAndTypeMustMatchTheMagicBytes) {
  fake_oppo oppo(test_options());
  const std::string token = issue_token(oppo);
  const std::string png = samples::png(984, 369);
  const std::vector<std::pair<std::string, std::string>> wrong = {
      {"big_picture.jpg", "image/png"},   // name says JPEG
      {"big_picture.png", "image/jpeg"},  // type says JPEG
      {"big_picture", "image/png"},       // no extension
      {"big_picture.png", "text/plain"},  // not an image type
      {"big_picture.png", ""},            // no type
  };
  for (const auto& [filename, type] : wrong) {
    auto parts = good_parts(token, png);
    parts[2].filename = filename;
    parts[2].content_type = type;
    EXPECT_EQ(code_of(oppo.handle(upload_request(image_kind::big, parts))), 41)
        << filename << " " << type;
  }
  auto upper = good_parts(token, png);
  upper[2].filename = "BIG.PNG";
  EXPECT_EQ(code_of(oppo.handle(upload_request(image_kind::big, upper))), 0);
}

TEST(FakeOppoUpload, ImageRulesAnswer51) {
  fake_oppo oppo(test_options());
  const std::string token = issue_token(oppo);
  // Wrong size for the kind.
  EXPECT_EQ(code_of(oppo.handle(
                upload_request(image_kind::big, good_parts(token, samples::png(144, 144))))),
            51);
  // A big picture on the small path.
  auto parts = good_parts(token, samples::png(984, 369));
  EXPECT_EQ(code_of(oppo.handle(upload_request(image_kind::small, parts))), 51);
  // Not an image at all.
  EXPECT_EQ(code_of(oppo.handle(upload_request(image_kind::big, good_parts(token, "hello")))), 51);
  // Over the byte limit.
  const std::string heavy = samples::pad_png(samples::png(984, 369), 1048577);
  EXPECT_EQ(code_of(oppo.handle(upload_request(image_kind::big, good_parts(token, heavy)))), 51);
  EXPECT_EQ(oppo.stats().uploads_accepted, 0u);
}

TEST(FakeOppoUpload, NotMultipartIsRefused) {
  fake_oppo oppo(test_options());
  const std::string token = issue_token(oppo);
  auto request = upload_request(image_kind::big, good_parts(token, samples::png(984, 369)));
  request.headers = {{"content-type", "application/octet-stream"}};
  EXPECT_EQ(code_of(oppo.handle(request)), 41);
  request.headers = {{"content-type", "multipart/form-data; boundary=other"}};
  EXPECT_EQ(code_of(oppo.handle(request)), 41);
}

TEST(FakeOppoUpload, ScriptedCodesReplaceProcessing) {
  fake_oppo oppo(test_options());
  const std::string token = issue_token(oppo);
  const std::string png = samples::png(984, 369);
  oppo.script_upload_codes({11, 0, 55});
  EXPECT_EQ(code_of(oppo.handle(upload_request(image_kind::big, good_parts(token, png)))), 11);
  EXPECT_EQ(code_of(oppo.handle(upload_request(image_kind::big, good_parts(token, png)))), 0);
  EXPECT_EQ(code_of(oppo.handle(upload_request(image_kind::big, good_parts(token, png)))), 55);
  EXPECT_EQ(code_of(oppo.handle(upload_request(image_kind::big, good_parts(token, png)))), 0);
  const auto stats = oppo.stats();
  EXPECT_EQ(stats.upload_requests, 4u);
  EXPECT_EQ(stats.uploads_accepted, 2u);
  EXPECT_EQ(stats.last_upload_token, token);
}

TEST(FakeOppo, DelayIsReported) {
  fake_oppo oppo(test_options());
  EXPECT_EQ(oppo.handle(auth_request("")).delay, 0ms);
  oppo.set_delay(250ms);
  EXPECT_EQ(oppo.handle(auth_request("")).delay, 250ms);
}

TEST(FakeOppo, UnknownPathsAndMethods) {
  fake_oppo oppo(test_options());
  EXPECT_EQ(oppo.handle(post("/server/v1/media/upload/medium_picture", "", "")).response.status,
            404);
  EXPECT_EQ(oppo.handle(post("/", "", "")).response.status, 404);
  auto get = auth_request("");
  get.method = "GET";
  const auto reply = oppo.handle(get);
  EXPECT_EQ(reply.response.status, 405);
  EXPECT_EQ(code_of(reply), 12);
  EXPECT_EQ(oppo.stats().auth_requests, 0u);
}

}  // namespace
}  // namespace image_gateway::oppo
