#include "image_gateway/oppo/token_cache.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <thread>

#include "image_gateway/oppo/multipart.hpp"
#include "image_gateway/util/sha256.hpp"
#include "image_gateway/util/strings.hpp"
#include "unit/oppo_test_support.hpp"

namespace image_gateway::oppo {
namespace {

using namespace std::chrono_literals;
using testing::code_answer;
using testing::in;
using testing::json_answer;
using testing::manual_clock;
using testing::run_one;
using testing::spawn_into;
using testing::test_http_client;
using testing::token_answer;
using testing::transport_failure;

oppo_config test_settings() {
  oppo_config settings;
  settings.auth_base_url = "https://auth.test/";
  settings.media_base_url = "https://media.test";
  settings.proxy = "http://egress:3128";
  settings.timeout = 10s;
  settings.connect_timeout = 3s;
  return settings;
}

const oppo_credentials creds{"oppo-key", "oppo-secret"};

// Answers auth calls with tokens "t1", "t2", … created at the clock's time, unless told to fail.
struct auth_server {
  explicit auth_server(manual_clock& c) : clock(c) {}
  manual_clock& clock;
  std::atomic<int> issued{0};
  std::mutex mutex;
  std::function<http_response()> override_answer;  // when set, answered instead of a token
  system_time::duration token_age{0};              // create_time = now - token_age

  http_response operator()(const http_request&) {
    std::lock_guard lock(mutex);
    if (override_answer) return override_answer();
    return token_answer("t" + std::to_string(++issued), clock.now() - token_age);
  }
  void fail_with(std::function<http_response()> answer) {
    std::lock_guard lock(mutex);
    override_answer = std::move(answer);
  }
  void set_age(system_time::duration age) {
    std::lock_guard lock(mutex);
    token_age = age;
  }
};

struct fixture {
  manual_clock clock;
  auth_server server{clock};
  test_http_client client{[this](const http_request& r) { return server(r); }};
  token_cache cache{client, test_settings(), clock.fn()};
  boost::asio::io_context io;

  result<std::string> get(std::string_view refused = "",
                          std::chrono::milliseconds budget = 5000ms) {
    const std::string refused_copy(refused);
    const auto deadline = in(budget);
    return run_one(io, [&] { return cache.get(creds, refused_copy, deadline); });
  }
};

TEST(TokenCache, AuthRequestFollowsTheProtocol) {
  fixture f;
  const auto token = f.get();
  ASSERT_TRUE(token.ok()) << token.error().detail;
  EXPECT_EQ(token.value(), "t1");

  const auto records = f.client.records();
  ASSERT_EQ(records.size(), 1u);
  const http_request& request = records[0].request;
  EXPECT_EQ(request.method, "POST");
  EXPECT_EQ(request.url, "https://auth.test/server/v1/auth");
  EXPECT_NE(std::find(request.headers.begin(), request.headers.end(),
                      "Content-Type: application/x-www-form-urlencoded"),
            request.headers.end());
  EXPECT_EQ(request.max_redirects, 0);
  EXPECT_EQ(request.max_response_bytes, 64u * 1024u);
  EXPECT_EQ(request.proxy, "http://egress:3128");
  EXPECT_EQ(request.connect_policy, nullptr);
  EXPECT_TRUE(request.form.empty());
  EXPECT_LE(request.total_timeout, 5000ms);  // capped by the deadline, not the 10 s setting
  EXPECT_GT(request.total_timeout, 0ms);
  EXPECT_LE(request.connect_timeout, 3000ms);

  const auto fields = parse_form_urlencoded(request.body);
  ASSERT_TRUE(fields.has_value());
  ASSERT_EQ(fields->size(), 3u);
  const std::string timestamp = std::to_string(testing::to_ms(f.clock.now()));
  EXPECT_EQ((*fields)[0], (std::pair<std::string, std::string>{"app_key", "oppo-key"}));
  EXPECT_EQ((*fields)[1], (std::pair<std::string, std::string>{"timestamp", timestamp}));
  EXPECT_EQ((*fields)[2].first, "sign");
  EXPECT_EQ((*fields)[2].second, sha256_hex("oppo-key" + timestamp + "oppo-secret"));
  EXPECT_EQ(request.body.find("oppo-secret"), std::string::npos);
}

TEST(TokenCache, CachedTokenIsReused) {
  fixture f;
  EXPECT_EQ(f.get().value(), "t1");
  f.clock.advance(20h);
  EXPECT_EQ(f.get().value(), "t1");
  EXPECT_EQ(f.cache.refresh_count(), 1u);
  EXPECT_EQ(f.client.records().size(), 1u);
}

TEST(TokenCache, AnswersResumeOnTheCallersThread) {
  fixture f;
  std::optional<std::thread::id> resumed_on;
  run_one(f.io, [&]() -> boost::asio::awaitable<int> {
    auto token = co_await f.cache.get(creds, "", in(5000ms));
    resumed_on = std::this_thread::get_id();
    co_return token.ok() ? 1 : 0;
  });
  EXPECT_EQ(resumed_on, std::this_thread::get_id());
}

TEST(TokenCache, RefreshesAheadOfTheEnd) {
  fixture f;
  EXPECT_EQ(f.get().value(), "t1");
  f.clock.advance(22h + 59min);  // 61 min left: not yet
  EXPECT_EQ(f.get().value(), "t1");
  EXPECT_EQ(f.cache.refresh_count(), 1u);
  f.clock.advance(2min);  // 59 min left: refresh ahead
  EXPECT_EQ(f.get().value(), "t2");
  EXPECT_EQ(f.cache.refresh_count(), 2u);
}

TEST(TokenCache, ExpiredTokenIsRefreshed) {
  fixture f;
  EXPECT_EQ(f.get().value(), "t1");
  f.clock.advance(25h);
  EXPECT_EQ(f.get().value(), "t2");
}

TEST(TokenCache, FailedEarlyRefreshKeepsServingTheValidToken) {
  fixture f;
  EXPECT_EQ(f.get().value(), "t1");
  f.clock.advance(23h + 30min);
  f.server.fail_with([] { return code_answer(-1); });

  const auto served = f.get();
  ASSERT_TRUE(served.ok()) << served.error().detail;
  EXPECT_EQ(served.value(), "t1");
  EXPECT_EQ(f.cache.refresh_count(), 2u);

  // No new attempt right after a failure…
  EXPECT_EQ(f.get().value(), "t1");
  EXPECT_EQ(f.cache.refresh_count(), 2u);
  // …but again after the pause.
  f.clock.advance(token_cache::retry_pause_after_failure + 1s);
  EXPECT_EQ(f.get().value(), "t1");
  EXPECT_EQ(f.cache.refresh_count(), 3u);

  // Once the token has ended, the failure is the answer.
  f.clock.advance(1h);
  const auto failed = f.get();
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().kind, error_kind::upstream_unavailable);
}

TEST(TokenCache, RefusedTokenIsReplacedOnce) {
  fixture f;
  EXPECT_EQ(f.get().value(), "t1");
  // OPPO answered 11 to t1: a refresh, even right after the last one.
  EXPECT_EQ(f.get("t1").value(), "t2");
  EXPECT_EQ(f.cache.refresh_count(), 2u);
  // Another caller still refusing t1 gets t2 without a new refresh.
  EXPECT_EQ(f.get("t1").value(), "t2");
  EXPECT_EQ(f.cache.refresh_count(), 2u);
}

TEST(TokenCache, OldTokenHandedBackDoesNotCauseARefreshStorm) {
  fixture f;
  f.server.set_age(23h + 30min);  // OPPO hands back a token with 30 min left
  EXPECT_EQ(f.get().value(), "t1");
  EXPECT_EQ(f.get().value(), "t1");
  EXPECT_EQ(f.get().value(), "t1");
  EXPECT_EQ(f.cache.refresh_count(), 1u);
  f.clock.advance(token_cache::refresh_pause_after_success + 1s);
  EXPECT_EQ(f.get().value(), "t2");
  EXPECT_EQ(f.cache.refresh_count(), 2u);
}

TEST(TokenCache, AppKeysHaveTheirOwnTokens) {
  fixture f;
  const oppo_credentials other{"other-key", "other-secret"};
  EXPECT_EQ(f.get().value(), "t1");
  const auto deadline = in(5000ms);
  EXPECT_EQ(run_one(f.io, [&] { return f.cache.get(other, "", deadline); }).value(), "t2");
  EXPECT_EQ(f.get().value(), "t1");
  EXPECT_EQ(f.cache.refresh_count(), 2u);
}

TEST(TokenCache, ConcurrentCallersShareOneRefresh) {
  fixture f;
  f.client.hold([](const http_request&) { return true; });
  constexpr int callers = 6;
  std::vector<std::optional<result<std::string>>> results(callers);
  const auto deadline = in(5000ms);
  for (auto& out : results) {
    spawn_into(f.io, out, [&] { return f.cache.get(creds, "", deadline); });
  }
  f.io.poll();  // every caller runs until it waits
  EXPECT_EQ(f.client.held_count(), 1u);
  EXPECT_EQ(f.client.records().size(), 1u);

  f.client.release_held();
  f.io.restart();
  f.io.run();
  for (auto& out : results) {
    ASSERT_TRUE(out.has_value());
    ASSERT_TRUE(out->ok());
    EXPECT_EQ(out->value(), "t1");
  }
  EXPECT_EQ(f.cache.refresh_count(), 1u);
}

TEST(TokenCache, ConcurrentCallersShareAFailure) {
  fixture f;
  f.server.fail_with([] { return code_answer(14); });
  f.client.hold([](const http_request&) { return true; });
  std::vector<std::optional<result<std::string>>> results(4);
  const auto deadline = in(5000ms);
  for (auto& out : results) {
    spawn_into(f.io, out, [&] { return f.cache.get(creds, "", deadline); });
  }
  f.io.poll();
  f.client.release_held();
  f.io.restart();
  f.io.run();
  for (auto& out : results) {
    ASSERT_TRUE(out.has_value());
    ASSERT_FALSE(out->ok());
    EXPECT_EQ(out->error().kind, error_kind::upstream_credentials);
  }
  EXPECT_EQ(f.cache.refresh_count(), 1u);
}

TEST(TokenCache, WaiterGivesUpAtItsOwnDeadline) {
  fixture f;
  f.client.hold([](const http_request&) { return true; });
  std::optional<result<std::string>> refresher;
  std::optional<result<std::string>> waiter;
  const auto long_deadline = in(10000ms);
  const auto short_deadline = in(30ms);
  spawn_into(f.io, refresher, [&] { return f.cache.get(creds, "", long_deadline); });
  spawn_into(f.io, waiter, [&] { return f.cache.get(creds, "", short_deadline); });
  while (!waiter) f.io.run_one();
  ASSERT_FALSE(waiter->ok());
  EXPECT_EQ(waiter->error().kind, error_kind::upstream_unavailable);
  EXPECT_NE(waiter->error().detail.find("deadline"), std::string::npos);
  EXPECT_FALSE(refresher.has_value());

  f.client.release_held();
  f.io.restart();
  f.io.run();
  ASSERT_TRUE(refresher.has_value());
  EXPECT_EQ(refresher->value(), "t1");
  EXPECT_EQ(f.cache.refresh_count(), 1u);
}

TEST(TokenCache, CancelledRefresherLetsAWaiterTakeOver) {
  fixture f;
  f.client.hold([](const http_request&) { return true; });
  boost::asio::cancellation_signal cancel;
  std::optional<result<std::string>> refresher;
  std::optional<result<std::string>> waiter;
  const auto deadline = in(5000ms);
  boost::asio::co_spawn(
      f.io,
      [&]() -> boost::asio::awaitable<void> {
        refresher.emplace(co_await f.cache.get(creds, "", deadline));
      },
      boost::asio::bind_cancellation_slot(cancel.slot(), boost::asio::detached));
  spawn_into(f.io, waiter, [&] { return f.cache.get(creds, "", deadline); });
  f.io.poll();
  ASSERT_EQ(f.client.held_count(), 1u);

  // co_spawn delivers the cancellation through the executor; the transfer completes
  // "cancelled", and the waiter starts a refresh of its own.
  cancel.emit(boost::asio::cancellation_type::terminal);
  while (f.client.cancels() == 0) f.io.run_one();
  while (f.client.held_count() == 0 && !waiter) f.io.run_one();
  EXPECT_EQ(f.client.cancels(), 1);
  EXPECT_FALSE(waiter.has_value());
  f.client.release_held();
  f.io.restart();
  f.io.run();
  ASSERT_TRUE(waiter.has_value());
  ASSERT_TRUE(waiter->ok()) << waiter->error().detail;
  EXPECT_EQ(waiter->value(), "t1");
  EXPECT_EQ(f.cache.refresh_count(), 2u);
}

struct failure_case {
  const char* name;
  std::function<http_response()> answer;
  error_kind kind;
  const char* detail_part;
};

TEST(TokenCache, FailuresMapToErrorKinds) {
  const std::vector<failure_case> cases = {
      {"invalid app key", [] { return code_answer(14); }, error_kind::upstream_credentials,
       "code 14"},
      {"ip black list", [] { return code_answer(26); }, error_kind::upstream_credentials,
       "code 26"},
      {"business code on auth", [] { return code_answer(40); }, error_kind::upstream_credentials,
       "code 40"},
      {"token code on auth", [] { return code_answer(11); }, error_kind::upstream_credentials,
       "code 11"},
      {"throttled", [] { return code_answer(13); }, error_kind::upstream_unavailable, "code 13"},
      {"unavailable", [] { return code_answer(-2); }, error_kind::upstream_unavailable, "code -2"},
      {"5xx html", [] { return json_answer("<html>bad gateway</html>", 502); },
       error_kind::upstream_unavailable, "HTTP 502"},
      {"200 garbage", [] { return json_answer("garbage", 200); }, error_kind::upstream_bad_answer,
       "not JSON"},
      {"no token", [] { return json_answer(R"({"code":0,"data":{}})"); },
       error_kind::upstream_bad_answer, "auth_token"},
      {"time-out", [] { return transport_failure(transfer_status::timed_out); },
       error_kind::upstream_unavailable, "timed out after"},
      {"refused", [] { return transport_failure(transfer_status::connect_failed, "refused"); },
       error_kind::upstream_unavailable, "refused"},
      {"dns", [] { return transport_failure(transfer_status::dns_failed, "no such host"); },
       error_kind::upstream_unavailable, "no such host"},
      {"too large", [] { return transport_failure(transfer_status::too_large); },
       error_kind::upstream_bad_answer, "64 KiB"},
  };
  for (const auto& c : cases) {
    fixture f;
    f.server.fail_with(c.answer);
    const auto token = f.get();
    ASSERT_FALSE(token.ok()) << c.name;
    EXPECT_EQ(token.error().kind, c.kind) << c.name << ": " << token.error().detail;
    EXPECT_NE(token.error().detail.find(c.detail_part), std::string::npos)
        << c.name << ": " << token.error().detail;
    EXPECT_EQ(token.error().detail.find("oppo-secret"), std::string::npos);
    EXPECT_EQ(f.cache.refresh_count(), 1u) << c.name;
  }
}

TEST(TokenCache, NoCallPastTheDeadline) {
  fixture f;
  const auto deadline = std::chrono::steady_clock::now() - 1ms;
  const auto token = run_one(f.io, [&] { return f.cache.get(creds, "", deadline); });
  ASSERT_FALSE(token.ok());
  EXPECT_EQ(token.error().kind, error_kind::upstream_unavailable);
  EXPECT_EQ(f.client.records().size(), 0u);
  EXPECT_EQ(f.cache.refresh_count(), 0u);
}

TEST(TokenCache, TimeoutIsCappedByTheDeadline) {
  fixture f;
  ASSERT_TRUE(f.get("", 1500ms).ok());
  const auto records = f.client.records();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_LE(records[0].request.total_timeout, 1500ms);
  EXPECT_GT(records[0].request.total_timeout, 0ms);
  EXPECT_LE(records[0].request.connect_timeout, records[0].request.total_timeout);
}

// docs/api.md#errors: an auth answer with OPPO's own non-zero code carries it in `upstream`; a
// transport failure or an unreadable answer has no OPPO code and carries none.
TEST(TokenCache, RefusalsWithAnOppoCodeCarryUpstream) {
  for (const int code : {14, 15, 16, 17, 18, 19, 26, 27, 28, 30, 40, 11, 29, 13, -2}) {
    fixture f;
    f.server.fail_with([code] { return code_answer(code); });
    const auto token = f.get();
    ASSERT_FALSE(token.ok()) << code;
    ASSERT_TRUE(token.error().upstream.has_value()) << code << ": " << token.error().detail;
    EXPECT_EQ(token.error().upstream->code, code);
  }
  const std::vector<std::function<http_response()>> no_code = {
      [] { return json_answer("garbage", 200); },
      [] { return json_answer("<html>bad gateway</html>", 502); },
      [] { return transport_failure(transfer_status::timed_out); },
      [] { return transport_failure(transfer_status::connect_failed, "refused"); },
  };
  for (const auto& answer : no_code) {
    fixture f;
    f.server.fail_with(answer);
    const auto token = f.get();
    ASSERT_FALSE(token.ok());
    EXPECT_FALSE(token.error().upstream.has_value()) << token.error().detail;
  }
}

}  // namespace
}  // namespace image_gateway::oppo
