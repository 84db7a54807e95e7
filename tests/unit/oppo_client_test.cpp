#include "image_gateway/oppo/oppo_client.hpp"

#include <gtest/gtest.h>

#include <deque>
#include <ostream>
#include <string>

#include "unit/oppo_test_support.hpp"

namespace image_gateway::oppo {
namespace {

using namespace std::chrono_literals;
using testing::code_answer;
using testing::in;
using testing::json_answer;
using testing::manual_clock;
using testing::run_one;
using testing::test_http_client;
using testing::token_answer;
using testing::transport_failure;

const oppo_credentials creds{"oppo-key", "oppo-secret"};
constexpr std::string_view upload_path = "/server/v1/media/upload/";
constexpr std::string_view auth_path = "/server/v1/auth";

oppo_config test_settings(int retries = 2) {
  oppo_config settings;
  settings.auth_base_url = "https://auth.test";
  settings.media_base_url = "https://media.test/";
  settings.picture_ttl_s = 86400;
  settings.proxy = "http://egress:3128";
  settings.retries = retries;
  return settings;
}

// Auth answers t1, t2, …; uploads answer the script in order, then success with id-N.
struct oppo_server {
  explicit oppo_server(manual_clock& c) : clock(c) {}
  manual_clock& clock;
  std::mutex mutex;
  int tokens = 0;
  int uploads = 0;
  std::deque<http_response> upload_script;
  std::optional<http_response> auth_failure;

  http_response operator()(const http_request& request) {
    std::lock_guard lock(mutex);
    if (request.url.find(auth_path) != std::string::npos) {
      if (auth_failure) return *auth_failure;
      return token_answer("t" + std::to_string(++tokens), clock.now());
    }
    ++uploads;
    if (!upload_script.empty()) {
      http_response next = upload_script.front();
      upload_script.pop_front();
      return next;
    }
    const bool big = request.url.ends_with("big_picture");
    return json_answer(std::string(R"({"code":0,"message":"success","data":{")") +
                       (big ? "big" : "small") + R"(_picture_id":"id-)" + std::to_string(uploads) +
                       "\"}}");
  }
  void script(std::vector<http_response> answers) {
    std::lock_guard lock(mutex);
    upload_script.assign(answers.begin(), answers.end());
  }
};

struct fixture {
  explicit fixture(int retries = 2, circuit_settings circuit = {})
      : oppo(client, test_settings(retries), clock.fn(), circuit) {}

  manual_clock clock;
  oppo_server server{clock};
  test_http_client client{[this](const http_request& r) { return server(r); }};
  oppo_client oppo;
  boost::asio::io_context io;
  std::shared_ptr<const std::string> png = std::make_shared<const std::string>("png bytes");

  result<std::string> upload(image_kind kind = image_kind::big,
                             std::chrono::milliseconds budget = 5000ms,
                             image_format format = image_format::png) {
    const auto deadline = in(budget);
    return run_one(io, [&] { return oppo.upload(creds, kind, png, format, deadline); });
  }

  std::vector<testing::test_http_client::record> uploads() const {
    return client.records_to(upload_path);
  }
};

const form_part* part(const http_request& request, std::string_view name) {
  for (const auto& p : request.form) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

std::string token_of(const http_request& request) {
  const form_part* p = part(request, "auth_token");
  return p == nullptr ? std::string() : p->value;
}

TEST(OppoClient, UploadsAMultipartWithSharedBytes) {
  fixture f;
  const auto id = f.upload();
  ASSERT_TRUE(id.ok()) << id.error().detail;
  EXPECT_EQ(id.value(), "id-1");

  const auto uploads = f.uploads();
  ASSERT_EQ(uploads.size(), 1u);
  const http_request& request = uploads[0].request;
  EXPECT_EQ(request.method, "POST");
  EXPECT_EQ(request.url, "https://media.test/server/v1/media/upload/big_picture");
  EXPECT_EQ(request.max_redirects, 0);
  EXPECT_EQ(request.max_response_bytes, 64u * 1024u);
  EXPECT_EQ(request.proxy, "http://egress:3128");
  EXPECT_EQ(request.connect_policy, nullptr);

  ASSERT_EQ(request.form.size(), 3u);
  const form_part* token = part(request, "auth_token");
  ASSERT_NE(token, nullptr);
  EXPECT_EQ(token->value, "t1");
  EXPECT_FALSE(token->file_data);
  const form_part* ttl = part(request, "picture_ttl");
  ASSERT_NE(ttl, nullptr);
  EXPECT_EQ(ttl->value, "86400");
  const form_part* file = part(request, "file");
  ASSERT_NE(file, nullptr);
  EXPECT_EQ(file->filename, "big_picture.png");
  EXPECT_EQ(file->content_type, "image/png");
  EXPECT_EQ(file->file_data.data(), f.png->data());  // the same buffer, never copied
  EXPECT_EQ(f.oppo.upload_attempts(), 1u);
  EXPECT_EQ(f.oppo.transient_retries(), 0u);
}

// A multipart request's image part is a slice of the request body: it is uploaded from there,
// and the upload keeps the body alive, however long the transfer outlives the caller.
TEST(OppoClient, SliceOfABufferIsUploadedInPlace) {
  fixture f;
  auto body = std::make_shared<const std::string>("--b\r\nheaders\r\n\r\nIMAGE\r\n--b--");
  const std::string_view slice = std::string_view(*body).substr(16, 5);
  ASSERT_EQ(slice, "IMAGE");
  const auto deadline = in(5000ms);
  const auto id = run_one(f.io, [&] {
    return f.oppo.upload(creds, image_kind::big, shared_bytes(body, slice), image_format::png,
                         deadline);
  });
  ASSERT_TRUE(id.ok()) << id.error().detail;
  const auto uploads = f.uploads();
  ASSERT_EQ(uploads.size(), 1u);
  const form_part* file = part(uploads[0].request, "file");
  ASSERT_NE(file, nullptr);
  EXPECT_EQ(file->file_data.view(), "IMAGE");
  EXPECT_EQ(file->file_data.data(), slice.data());  // the body's own bytes, never copied
  EXPECT_GE(body.use_count(), 2);                   // the recorded request still holds the body
}

TEST(OppoClient, SmallJpegNamesAndTypes) {
  fixture f;
  const auto id = f.upload(image_kind::small, 5000ms, image_format::jpeg);
  ASSERT_TRUE(id.ok()) << id.error().detail;
  EXPECT_EQ(id.value(), "id-1");
  const auto uploads = f.uploads();
  ASSERT_EQ(uploads.size(), 1u);
  EXPECT_EQ(uploads[0].request.url, "https://media.test/server/v1/media/upload/small_picture");
  const form_part* file = part(uploads[0].request, "file");
  ASSERT_NE(file, nullptr);
  EXPECT_EQ(file->filename, "small_picture.jpg");
  EXPECT_EQ(file->content_type, "image/jpeg");
}

TEST(OppoClient, TokenIsReusedAcrossUploads) {
  fixture f;
  ASSERT_TRUE(f.upload().ok());
  ASSERT_TRUE(f.upload(image_kind::small).ok());
  EXPECT_EQ(f.client.records_to(auth_path).size(), 1u);
  for (const auto& r : f.uploads()) EXPECT_EQ(token_of(r.request), "t1");
}

TEST(OppoClient, ConcurrentUploadsShareOneAuthCall) {
  fixture f;
  f.client.hold([](const http_request& r) { return r.url.find(auth_path) != std::string::npos; });
  std::optional<result<std::string>> big;
  std::optional<result<std::string>> small;
  const auto deadline = in(5000ms);
  testing::spawn_into(f.io, big, [&] {
    return f.oppo.upload(creds, image_kind::big, f.png, image_format::png, deadline);
  });
  testing::spawn_into(f.io, small, [&] {
    return f.oppo.upload(creds, image_kind::small, f.png, image_format::png, deadline);
  });
  f.io.poll();
  EXPECT_EQ(f.client.held_count(), 1u);
  f.client.release_held();
  f.io.restart();
  f.io.run();
  ASSERT_TRUE(big && big->ok());
  ASSERT_TRUE(small && small->ok());
  EXPECT_EQ(f.client.records_to(auth_path).size(), 1u);
  EXPECT_EQ(f.uploads().size(), 2u);
}

// "Code11" rather than "0" in test names.
std::string code_name(const ::testing::TestParamInfo<int>& code_info) {
  return "Code" + std::to_string(code_info.param);
}

class TokenRefused : public ::testing::TestWithParam<int> {};

TEST_P(TokenRefused, OneRefreshAndOneRetryWithTheNewToken) {
  fixture f;
  f.server.script({code_answer(GetParam())});
  const auto id = f.upload();
  ASSERT_TRUE(id.ok()) << id.error().detail;
  EXPECT_EQ(id.value(), "id-2");
  const auto uploads = f.uploads();
  ASSERT_EQ(uploads.size(), 2u);
  EXPECT_EQ(token_of(uploads[0].request), "t1");
  EXPECT_EQ(token_of(uploads[1].request), "t2");
  EXPECT_EQ(f.oppo.tokens().refresh_count(), 2u);
  EXPECT_EQ(f.oppo.token_retries(), 1u);
  EXPECT_EQ(f.oppo.transient_retries(), 0u);
}

TEST_P(TokenRefused, TwiceIsACredentialsError) {
  fixture f;
  f.server.script({code_answer(GetParam()), code_answer(GetParam())});
  const auto id = f.upload();
  ASSERT_FALSE(id.ok());
  EXPECT_EQ(id.error().kind, error_kind::upstream_credentials);
  EXPECT_NE(id.error().detail.find("code " + std::to_string(GetParam())), std::string::npos);
  EXPECT_EQ(f.uploads().size(), 2u);
  EXPECT_EQ(f.oppo.tokens().refresh_count(), 2u);
}

INSTANTIATE_TEST_SUITE_P(Codes, TokenRefused, ::testing::Values(11, 29), code_name);

class BusinessCode : public ::testing::TestWithParam<int> {};

TEST_P(BusinessCode, IsARejectionWithoutRetry) {
  fixture f;
  f.server.script({code_answer(GetParam())});
  const auto id = f.upload();
  ASSERT_FALSE(id.ok());
  EXPECT_EQ(id.error().kind, error_kind::upstream_rejected);
  ASSERT_TRUE(id.error().upstream.has_value());
  EXPECT_EQ(id.error().upstream->code, GetParam());
  EXPECT_EQ(id.error().upstream->message, "scripted");
  EXPECT_NE(id.error().detail.find("big_picture"), std::string::npos);
  EXPECT_EQ(f.uploads().size(), 1u);
}

INSTANTIATE_TEST_SUITE_P(Codes, BusinessCode, ::testing::Values(51, 34, 40, 41), code_name);

TEST(OppoClient, CodeIsReadWhateverTheHttpStatus) {
  fixture f;
  f.server.script({code_answer(51, 400)});
  const auto id = f.upload();
  ASSERT_FALSE(id.ok());
  EXPECT_EQ(id.error().kind, error_kind::upstream_rejected);
  EXPECT_EQ(f.uploads().size(), 1u);
}

TEST(OppoClient, CredentialsCodeOnUploadIsNotRetried) {
  fixture f;
  f.server.script({code_answer(30)});
  const auto id = f.upload();
  ASSERT_FALSE(id.ok());
  EXPECT_EQ(id.error().kind, error_kind::upstream_credentials);
  // OPPO's own code on a 23100 is carried in `upstream` (docs/api.md#errors).
  ASSERT_TRUE(id.error().upstream.has_value());
  EXPECT_EQ(id.error().upstream->code, 30);
  EXPECT_EQ(f.uploads().size(), 1u);
}

TEST(OppoClient, UnreadableAnswerIsABadAnswer) {
  fixture f;
  f.server.script({json_answer("<html>hello</html>", 200)});
  const auto id = f.upload();
  ASSERT_FALSE(id.ok());
  EXPECT_EQ(id.error().kind, error_kind::upstream_bad_answer);
  EXPECT_EQ(f.uploads().size(), 1u);
}

TEST(OppoClient, RedirectIsNotFollowedNorRetried) {
  fixture f;
  http_response redirect = json_answer("", 302);
  f.server.script({redirect});
  const auto id = f.upload();
  ASSERT_FALSE(id.ok());
  EXPECT_EQ(id.error().kind, error_kind::upstream_bad_answer);
  EXPECT_NE(id.error().detail.find("HTTP 302"), std::string::npos);
  EXPECT_EQ(f.uploads().size(), 1u);
  EXPECT_EQ(f.uploads()[0].request.max_redirects, 0);
}

struct transient_case {
  const char* name;
  http_response answer;
};

// gtest prints a failing test's parameter: its name, not its bytes.
void PrintTo(const transient_case& value, std::ostream* out) { *out << value.name; }

class Transient : public ::testing::TestWithParam<transient_case> {};

TEST_P(Transient, IsRetriedThenSucceeds) {
  fixture f;
  f.server.script({GetParam().answer});
  const auto id = f.upload();
  ASSERT_TRUE(id.ok()) << id.error().detail;
  EXPECT_EQ(id.value(), "id-2");
  EXPECT_EQ(f.uploads().size(), 2u);
  EXPECT_EQ(f.oppo.transient_retries(), 1u);
  // Same token: a transient failure says nothing about it.
  EXPECT_EQ(token_of(f.uploads()[1].request), "t1");
}

TEST_P(Transient, ExhaustedRetriesAreUnavailable) {
  fixture f(2);
  f.server.script({GetParam().answer, GetParam().answer, GetParam().answer, GetParam().answer});
  const auto id = f.upload();
  ASSERT_FALSE(id.ok());
  EXPECT_EQ(id.error().kind, error_kind::upstream_unavailable);
  EXPECT_EQ(f.uploads().size(), 3u);  // the attempt and two retries
  EXPECT_EQ(f.oppo.transient_retries(), 2u);
}

INSTANTIATE_TEST_SUITE_P(
    Answers, Transient,
    ::testing::Values(transient_case{"minus_one", code_answer(-1)},
                      transient_case{"minus_two", code_answer(-2)},
                      transient_case{"thirteen", code_answer(13)},
                      transient_case{"fifty_five", code_answer(55)},
                      transient_case{"http_503", json_answer("Service Unavailable", 503)},
                      transient_case{"timed_out", transport_failure(transfer_status::timed_out)},
                      transient_case{"connect_failed",
                                     transport_failure(transfer_status::connect_failed, "refused")},
                      transient_case{"dns_failed", transport_failure(transfer_status::dns_failed)}),
    [](const auto& test_info) { return std::string(test_info.param.name); });

TEST(OppoClient, NoRetriesWhenNoneAllowed) {
  fixture f(0);
  f.server.script({code_answer(13)});
  const auto id = f.upload();
  ASSERT_FALSE(id.ok());
  EXPECT_EQ(id.error().kind, error_kind::upstream_unavailable);
  EXPECT_EQ(f.uploads().size(), 1u);
}

TEST(OppoClient, AuthFailureStopsBeforeUploading) {
  fixture f;
  f.server.auth_failure = code_answer(14);
  const auto id = f.upload();
  ASSERT_FALSE(id.ok());
  EXPECT_EQ(id.error().kind, error_kind::upstream_credentials);
  EXPECT_EQ(f.uploads().size(), 0u);
  EXPECT_EQ(f.oppo.tokens().refresh_count(), 1u);  // credentials are not retried
}

TEST(OppoClient, AuthUnavailableIsRetried) {
  fixture f(1);
  f.server.auth_failure = code_answer(-1);
  const auto id = f.upload();
  ASSERT_FALSE(id.ok());
  EXPECT_EQ(id.error().kind, error_kind::upstream_unavailable);
  EXPECT_EQ(f.oppo.tokens().refresh_count(), 2u);
  EXPECT_EQ(f.uploads().size(), 0u);
}

TEST(OppoClient, NothingStartsPastTheDeadline) {
  // No breaker in the way: short jittered pauses can fit five failures in 250 ms, and an open
  // breaker would end the request before its deadline does.
  circuit_settings no_breaker;
  no_breaker.failure_threshold = 1000000;
  fixture f(1000, no_breaker);
  std::vector<http_response> always(400, code_answer(-1));
  f.server.script(always);
  const auto started = std::chrono::steady_clock::now();
  const auto deadline = started + 250ms;
  const auto id = run_one(f.io, [&] {
    return f.oppo.upload(creds, image_kind::big, f.png, image_format::png, deadline);
  });
  ASSERT_FALSE(id.ok());
  EXPECT_EQ(id.error().kind, error_kind::upstream_unavailable);
  EXPECT_NE(id.error().detail.find("deadline"), std::string::npos);
  const auto uploads = f.uploads();
  ASSERT_GE(uploads.size(), 1u);
  for (const auto& r : uploads) {
    EXPECT_LT(r.started, deadline);
    EXPECT_LE(r.request.total_timeout, 250ms);
  }
  // Every attempt but the first followed a back-off (a back-off ending right at the deadline
  // starts no attempt).
  EXPECT_LE(uploads.size(), f.oppo.transient_retries() + 1);
  EXPECT_GE(uploads.size(), f.oppo.transient_retries());
}

TEST(OppoClient, PassedDeadlineSendsNothing) {
  fixture f;
  const auto deadline = std::chrono::steady_clock::now() - 1ms;
  const auto id = run_one(f.io, [&] {
    return f.oppo.upload(creds, image_kind::big, f.png, image_format::png, deadline);
  });
  ASSERT_FALSE(id.ok());
  EXPECT_EQ(id.error().kind, error_kind::upstream_unavailable);
  EXPECT_TRUE(f.client.records().empty());
}

TEST(OppoClient, TimeoutsAreCappedByTheDeadline) {
  fixture f;
  ASSERT_TRUE(f.upload(image_kind::big, 1500ms).ok());
  for (const auto& r : f.client.records()) {
    EXPECT_LE(r.request.total_timeout, 1500ms);
    EXPECT_GT(r.request.total_timeout, 0ms);
    EXPECT_LE(r.request.connect_timeout, r.request.total_timeout);
  }
}

TEST(OppoClient, FullTimeoutWhenTheDeadlineIsFar) {
  fixture f;
  ASSERT_TRUE(f.upload(image_kind::big, 60000ms).ok());
  const auto uploads = f.uploads();
  ASSERT_EQ(uploads.size(), 1u);
  EXPECT_EQ(uploads[0].request.total_timeout, 10000ms);
  EXPECT_EQ(uploads[0].request.connect_timeout, 3000ms);
}

}  // namespace
}  // namespace image_gateway::oppo
