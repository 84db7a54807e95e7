#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <mutex>
#include <string_view>

namespace image_gateway::oppo {

// A circuit breaker for one kind of OPPO call (the gateway keeps one for auth calls and one for
// uploads, each shared by every app, since they go to different hosts by default).
//
//   closed    -> open       after `failure_threshold` transient failures in a row
//   open      -> half-open  once `open_for` has passed: the next call is the one probe
//   half-open -> closed     when the probe (or any call) succeeds
//   half-open -> open       when the probe fails
//
// While open (and while a probe runs) calls fail fast without touching the network. Only
// transient failures (time-outs, connection errors, HTTP 5xx, OPPO -1/-2/13/55) count; an answer
// with a business or credential code shows OPPO is up and counts as healthy. A probe that never
// reports (its caller was cancelled) stops blocking the next one after `open_for`. Thread-safe.
class circuit_breaker {
 public:
  using time_point = std::chrono::steady_clock::time_point;
  using clock_fn = std::function<time_point()>;

  enum class state { closed, open, half_open };

  struct options {
    int failure_threshold = 5;
    std::chrono::milliseconds open_for{5000};
  };

  // What allow() decided. `probe` is true for the one call let through in half-open.
  struct admission {
    bool allowed = true;
    bool probe = false;
    std::chrono::milliseconds retry_in{0};  // when refused: time until the next probe
  };

  explicit circuit_breaker(options settings, clock_fn clock = {});

  // Asks to make a call now.
  admission allow();
  // The outcome of a call that was allowed: OPPO answered (healthy) or failed transiently.
  void record_success();
  void record_failure();
  // A call that was allowed ended without a verdict (cancelled, no time left): frees the probe.
  void record_abandoned(bool was_probe);

  state current() const;
  // True while calls would be refused (open within open_for, or a probe is out).
  bool refusing() const;
  int consecutive_failures() const;
  const options& settings() const { return settings_; }

 private:
  time_point now() const;

  options settings_;
  clock_fn clock_;
  mutable std::mutex mutex_;
  state state_ = state::closed;
  int failures_ = 0;
  time_point opened_at_{};
  time_point probe_started_{};
  bool probe_out_ = false;
};

std::string_view to_string(circuit_breaker::state value);

// How the OPPO client sets up its breakers.
struct circuit_settings {
  int failure_threshold = 5;
  // 0: oppo.timeout_ms, clamped to 1..30 s. Open no shorter than one call may take, so that at
  // most one probe is ever out.
  std::chrono::milliseconds open_for{0};
  circuit_breaker::clock_fn clock;  // the steady clock when empty
};

// The breaker options for these OPPO settings.
circuit_breaker::options breaker_options(const circuit_settings& circuit,
                                         std::chrono::milliseconds oppo_timeout);

// One call to OPPO (or one refused by a breaker), reported for metrics.
struct call_report {
  std::string_view endpoint;  // "auth" or "upload"
  // ok, rejected (business code), credentials, token_rejected (11/29), throttled (-1/-2/13/55),
  // http_5xx, timeout, unreachable, bad_answer, failed, cancelled, circuit_open (nothing sent)
  std::string_view outcome;
  std::chrono::microseconds elapsed{0};
  std::size_t connections_opened = 0;  // new connections the call made (reuse)
  bool sent() const { return outcome != "circuit_open"; }
};
using call_observer = std::function<void(const call_report&)>;

// Outcomes that count against a breaker (and are retried).
bool is_transient_outcome(std::string_view outcome);

}  // namespace image_gateway::oppo
