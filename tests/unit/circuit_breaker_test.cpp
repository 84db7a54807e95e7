#include "image_gateway/oppo/circuit_breaker.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "image_gateway/oppo/oppo_client.hpp"
#include "unit/oppo_test_support.hpp"

namespace image_gateway::oppo {
namespace {

using namespace std::chrono_literals;
using state = circuit_breaker::state;
using testing::code_answer;
using testing::in;
using testing::json_answer;
using testing::manual_clock;
using testing::run_one;
using testing::test_http_client;
using testing::token_answer;
using testing::transport_failure;

// A steady clock the test moves by hand.
struct fake_steady {
  circuit_breaker::time_point now{std::chrono::hours(1000)};
  circuit_breaker::clock_fn fn() {
    return [this] { return now; };
  }
};

circuit_breaker make(fake_steady& clock, int threshold = 3, std::chrono::milliseconds open = 5s) {
  return circuit_breaker({threshold, open}, clock.fn());
}

void fail_times(circuit_breaker& breaker, int n) {
  for (int i = 0; i < n; ++i) {
    ASSERT_TRUE(breaker.allow().allowed);
    breaker.record_failure();
  }
}

TEST(CircuitBreaker, StaysClosedBelowTheThreshold) {
  fake_steady clock;
  auto breaker = make(clock);
  fail_times(breaker, 2);
  EXPECT_EQ(breaker.current(), state::closed);
  EXPECT_FALSE(breaker.refusing());
  EXPECT_TRUE(breaker.allow().allowed);
  EXPECT_EQ(breaker.consecutive_failures(), 2);
}

TEST(CircuitBreaker, SuccessResetsTheCount) {
  fake_steady clock;
  auto breaker = make(clock);
  fail_times(breaker, 2);
  breaker.record_success();
  fail_times(breaker, 2);  // 2 + 2 failures, but not in a row
  EXPECT_EQ(breaker.current(), state::closed);
  EXPECT_EQ(breaker.consecutive_failures(), 2);
}

TEST(CircuitBreaker, OpensAfterTheThresholdAndFailsFast) {
  fake_steady clock;
  auto breaker = make(clock);
  fail_times(breaker, 3);
  EXPECT_EQ(breaker.current(), state::open);
  EXPECT_TRUE(breaker.refusing());
  clock.now += 2s;
  const auto refused = breaker.allow();
  EXPECT_FALSE(refused.allowed);
  EXPECT_FALSE(refused.probe);
  EXPECT_EQ(refused.retry_in, 3000ms);
}

TEST(CircuitBreaker, LetsOneProbeThroughAfterTheCoolDown) {
  fake_steady clock;
  auto breaker = make(clock);
  fail_times(breaker, 3);
  clock.now += 5s;
  EXPECT_FALSE(breaker.refusing());  // the next call would be let through
  const auto probe = breaker.allow();
  EXPECT_TRUE(probe.allowed);
  EXPECT_TRUE(probe.probe);
  EXPECT_EQ(breaker.current(), state::half_open);
  // Everyone else keeps failing fast while the probe is out.
  EXPECT_FALSE(breaker.allow().allowed);
  EXPECT_FALSE(breaker.allow().allowed);
  EXPECT_TRUE(breaker.refusing());
}

TEST(CircuitBreaker, ProbeSuccessCloses) {
  fake_steady clock;
  auto breaker = make(clock);
  fail_times(breaker, 3);
  clock.now += 5s;
  ASSERT_TRUE(breaker.allow().probe);
  breaker.record_success();
  EXPECT_EQ(breaker.current(), state::closed);
  EXPECT_EQ(breaker.consecutive_failures(), 0);
  const auto next = breaker.allow();
  EXPECT_TRUE(next.allowed);
  EXPECT_FALSE(next.probe);
}

TEST(CircuitBreaker, ProbeFailureReopensForAnotherCoolDown) {
  fake_steady clock;
  auto breaker = make(clock);
  fail_times(breaker, 3);
  clock.now += 5s;
  ASSERT_TRUE(breaker.allow().probe);
  clock.now += 1s;
  breaker.record_failure();
  EXPECT_EQ(breaker.current(), state::open);
  clock.now += 4999ms;  // counted from the probe's failure, not the first opening
  EXPECT_FALSE(breaker.allow().allowed);
  clock.now += 1ms;
  EXPECT_TRUE(breaker.allow().probe);
}

TEST(CircuitBreaker, AbandonedProbeFreesTheSlot) {
  fake_steady clock;
  auto breaker = make(clock);
  fail_times(breaker, 3);
  clock.now += 5s;
  ASSERT_TRUE(breaker.allow().probe);
  breaker.record_abandoned(true);
  EXPECT_EQ(breaker.current(), state::half_open);
  EXPECT_TRUE(breaker.allow().probe);
}

TEST(CircuitBreaker, LostProbeStopsBlockingAfterTheCoolDown) {
  fake_steady clock;
  auto breaker = make(clock);
  fail_times(breaker, 3);
  clock.now += 5s;
  ASSERT_TRUE(breaker.allow().probe);  // never reports
  clock.now += 4s;
  EXPECT_FALSE(breaker.allow().allowed);
  clock.now += 1s;
  EXPECT_TRUE(breaker.allow().probe);
}

TEST(CircuitBreaker, LateFailureOfAnOldCallDoesNotExtendTheCoolDown) {
  fake_steady clock;
  auto breaker = make(clock);
  fail_times(breaker, 3);
  clock.now += 4s;
  breaker.record_failure();  // a call admitted before it opened
  clock.now += 1s;
  EXPECT_TRUE(breaker.allow().probe);
}

TEST(CircuitBreaker, OptionsFollowTheOppoTimeout) {
  EXPECT_EQ(breaker_options({}, 10000ms).open_for, 10000ms);
  EXPECT_EQ(breaker_options({}, 10000ms).failure_threshold, 5);
  EXPECT_EQ(breaker_options({}, 200ms).open_for, 1000ms);
  EXPECT_EQ(breaker_options({}, 120000ms).open_for, 30000ms);
  EXPECT_EQ(breaker_options({2, 300ms, {}}, 10000ms).open_for, 300ms);
  EXPECT_EQ(breaker_options({2, 300ms, {}}, 10000ms).failure_threshold, 2);
}

TEST(CircuitBreaker, TransientOutcomes) {
  for (const char* outcome : {"timeout", "unreachable", "throttled", "http_5xx"}) {
    EXPECT_TRUE(is_transient_outcome(outcome)) << outcome;
  }
  for (const char* outcome :
       {"ok", "rejected", "credentials", "token_rejected", "bad_answer", "cancelled"}) {
    EXPECT_FALSE(is_transient_outcome(outcome)) << outcome;
  }
}

// ---- the breakers inside oppo_client ----

const oppo_credentials creds{"oppo-key", "oppo-secret"};

struct client_fixture {
  explicit client_fixture(int threshold = 3)
      : oppo(client, settings(), wall.fn(), circuit_settings{threshold, 1000ms, steady.fn()}) {
    oppo.set_observer([this](const call_report& report) {
      std::lock_guard lock(mutex);
      reports.push_back(std::string(report.endpoint) + ":" + std::string(report.outcome));
    });
  }

  static oppo_config settings() {
    oppo_config s;
    s.auth_base_url = "https://auth.test";
    s.media_base_url = "https://media.test";
    s.retries = 0;  // one attempt per upload: each upload is one breaker event
    return s;
  }

  http_response answer(const http_request& request) {
    std::lock_guard lock(mutex);
    if (request.url.ends_with("/server/v1/auth")) {
      if (auth_down) return transport_failure(transfer_status::connect_failed, "refused");
      return token_answer("tok", wall.now());
    }
    if (upload_down) return json_answer("<html>bad gateway</html>", 502);
    return json_answer(R"({"code":0,"message":"success","data":{"big_picture_id":"id"}})");
  }

  result<std::string> upload() {
    return run_one(io, [&] {
      return oppo.upload(creds, image_kind::big, png, image_format::png, in(5000ms));
    });
  }

  std::vector<std::string> taken_reports() {
    std::lock_guard lock(mutex);
    return std::exchange(reports, {});
  }

  std::mutex mutex;
  bool auth_down = false;
  bool upload_down = false;
  std::vector<std::string> reports;
  manual_clock wall;
  fake_steady steady;
  test_http_client client{[this](const http_request& r) { return answer(r); }};
  oppo_client oppo;
  boost::asio::io_context io;
  std::shared_ptr<const std::string> png = std::make_shared<const std::string>("png");
};

TEST(OppoCircuit, UploadFailuresOpenItAndItFailsFastWithoutSending) {
  client_fixture f;
  f.upload_down = true;
  for (int i = 0; i < 3; ++i) {
    const auto id = f.upload();
    ASSERT_FALSE(id.ok());
    EXPECT_EQ(id.error().kind, error_kind::upstream_unavailable);
  }
  EXPECT_EQ(f.client.records_to("/upload/").size(), 3u);
  EXPECT_EQ(f.oppo.upload_circuit().current(), state::open);

  const auto fast = f.upload();
  ASSERT_FALSE(fast.ok());
  EXPECT_EQ(fast.error().kind, error_kind::upstream_unavailable);
  EXPECT_NE(fast.error().detail.find("OPPO circuit open"), std::string::npos)
      << fast.error().detail;
  EXPECT_EQ(f.client.records_to("/upload/").size(), 3u);  // nothing sent
  const auto reports = f.taken_reports();
  EXPECT_EQ(reports.back(), "upload:circuit_open");
  EXPECT_EQ(std::count(reports.begin(), reports.end(), "upload:http_5xx"), 3);
}

TEST(OppoCircuit, ProbeAfterTheCoolDownRecovers) {
  client_fixture f;
  f.upload_down = true;
  for (int i = 0; i < 3; ++i) (void)f.upload();
  ASSERT_EQ(f.oppo.upload_circuit().current(), state::open);

  f.upload_down = false;
  f.steady.now += 1000ms;
  const auto probe = f.upload();
  ASSERT_TRUE(probe.ok()) << probe.error().detail;
  EXPECT_EQ(f.oppo.upload_circuit().current(), state::closed);
  EXPECT_EQ(f.client.records_to("/upload/").size(), 4u);
  EXPECT_TRUE(f.upload().ok());
}

TEST(OppoCircuit, FailedProbeReopens) {
  client_fixture f;
  f.upload_down = true;
  for (int i = 0; i < 3; ++i) (void)f.upload();
  f.steady.now += 1000ms;
  EXPECT_FALSE(f.upload().ok());  // the probe, still failing
  EXPECT_EQ(f.client.records_to("/upload/").size(), 4u);
  EXPECT_EQ(f.oppo.upload_circuit().current(), state::open);
  EXPECT_FALSE(f.upload().ok());
  EXPECT_EQ(f.client.records_to("/upload/").size(), 4u);  // failed fast again
}

TEST(OppoCircuit, BusinessCodesCountAsHealthy) {
  // 502, then OPPO refuses pictures (51), then 502 again: with a threshold of 2 the answers in
  // between break the run of failures, so it never opens.
  std::atomic<int> uploads{0};
  test_http_client client{[&](const http_request& r) {
    if (r.url.ends_with("/auth")) return token_answer("tok", std::chrono::system_clock::now());
    const int n = ++uploads;
    return n == 1 || n == 4 ? json_answer("bad gateway", 502) : code_answer(51);
  }};
  fake_steady steady;
  oppo_client oppo(client, client_fixture::settings(), {}, {2, 1000ms, steady.fn()});
  boost::asio::io_context io;
  const auto png = std::make_shared<const std::string>("png");
  std::vector<error_kind> kinds;
  for (int i = 0; i < 5; ++i) {
    const auto id = run_one(io, [&] {
      return oppo.upload(creds, image_kind::big, png, image_format::png, in(5000ms));
    });
    ASSERT_FALSE(id.ok());
    kinds.push_back(id.error().kind);
  }
  EXPECT_EQ(kinds, (std::vector<error_kind>{
                       error_kind::upstream_unavailable, error_kind::upstream_rejected,
                       error_kind::upstream_rejected, error_kind::upstream_unavailable,
                       error_kind::upstream_rejected}));
  EXPECT_EQ(oppo.upload_circuit().current(), state::closed);
  EXPECT_EQ(client.records_to("/upload/").size(), 5u);
}

TEST(OppoCircuit, AuthFailuresOpenTheAuthBreakerAndStopRetries) {
  client_fixture f;
  f.auth_down = true;
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(f.upload().ok());
  EXPECT_EQ(f.client.records_to("/server/v1/auth").size(), 3u);
  EXPECT_EQ(f.oppo.auth_circuit().current(), state::open);
  EXPECT_EQ(f.oppo.upload_circuit().current(), state::closed);

  const auto fast = f.upload();
  ASSERT_FALSE(fast.ok());
  EXPECT_EQ(fast.error().kind, error_kind::upstream_unavailable);
  EXPECT_NE(fast.error().detail.find("circuit open"), std::string::npos) << fast.error().detail;
  EXPECT_EQ(f.client.records_to("/server/v1/auth").size(), 3u);
  EXPECT_EQ(f.taken_reports().back(), "auth:circuit_open");

  f.auth_down = false;
  f.steady.now += 1000ms;
  EXPECT_TRUE(f.upload().ok());
  EXPECT_EQ(f.oppo.auth_circuit().current(), state::closed);
}

TEST(OppoCircuit, ObserverHearsEveryCall) {
  client_fixture f;
  ASSERT_TRUE(f.upload().ok());
  ASSERT_TRUE(f.upload().ok());
  EXPECT_EQ(f.taken_reports(), (std::vector<std::string>{"auth:ok", "upload:ok", "upload:ok"}));
}

}  // namespace
}  // namespace image_gateway::oppo
