#include "image_gateway/oppo/circuit_breaker.hpp"

#include <algorithm>

namespace image_gateway::oppo {

using std::chrono::duration_cast;
using std::chrono::milliseconds;

circuit_breaker::circuit_breaker(options settings, clock_fn clock)
    : settings_(settings), clock_(std::move(clock)) {
  settings_.failure_threshold = std::max(1, settings_.failure_threshold);
  if (!clock_) clock_ = [] { return std::chrono::steady_clock::now(); };
}

circuit_breaker::time_point circuit_breaker::now() const { return clock_(); }

circuit_breaker::admission circuit_breaker::allow() {
  std::lock_guard lock(mutex_);
  const time_point t = now();
  switch (state_) {
    case state::closed:
      return {};
    case state::open:
      if (t - opened_at_ >= settings_.open_for) {
        state_ = state::half_open;
        probe_out_ = true;
        probe_started_ = t;
        return {true, true, milliseconds(0)};
      }
      return {false, false,
              std::max(milliseconds(1),
                       duration_cast<milliseconds>(opened_at_ + settings_.open_for - t))};
    case state::half_open:
      // One probe at a time; a probe lost without a verdict stops blocking after open_for.
      if (!probe_out_ || t - probe_started_ >= settings_.open_for) {
        probe_out_ = true;
        probe_started_ = t;
        return {true, true, milliseconds(0)};
      }
      return {false, false,
              std::max(milliseconds(1),
                       duration_cast<milliseconds>(probe_started_ + settings_.open_for - t))};
  }
  return {};
}

void circuit_breaker::record_success() {
  std::lock_guard lock(mutex_);
  state_ = state::closed;
  failures_ = 0;
  probe_out_ = false;
}

void circuit_breaker::record_failure() {
  std::lock_guard lock(mutex_);
  const time_point t = now();
  switch (state_) {
    case state::closed:
      if (++failures_ >= settings_.failure_threshold) {
        state_ = state::open;
        opened_at_ = t;
      }
      break;
    case state::open:
      break;  // a call let through before it opened; the cool-down stands
    case state::half_open:
      state_ = state::open;
      opened_at_ = t;
      probe_out_ = false;
      ++failures_;
      break;
  }
}

void circuit_breaker::record_abandoned(bool was_probe) {
  std::lock_guard lock(mutex_);
  if (was_probe && state_ == state::half_open) probe_out_ = false;
}

circuit_breaker::state circuit_breaker::current() const {
  std::lock_guard lock(mutex_);
  return state_;
}

bool circuit_breaker::refusing() const {
  std::lock_guard lock(mutex_);
  const time_point t = now();
  switch (state_) {
    case state::closed:
      return false;
    case state::open:
      return t - opened_at_ < settings_.open_for;
    case state::half_open:
      return probe_out_ && t - probe_started_ < settings_.open_for;
  }
  return false;
}

int circuit_breaker::consecutive_failures() const {
  std::lock_guard lock(mutex_);
  return failures_;
}

std::string_view to_string(circuit_breaker::state value) {
  switch (value) {
    case circuit_breaker::state::closed:
      return "closed";
    case circuit_breaker::state::open:
      return "open";
    case circuit_breaker::state::half_open:
      return "half_open";
  }
  return "unknown";
}

circuit_breaker::options breaker_options(const circuit_settings& circuit,
                                         std::chrono::milliseconds oppo_timeout) {
  circuit_breaker::options options;
  options.failure_threshold = circuit.failure_threshold;
  options.open_for = circuit.open_for.count() > 0
                         ? circuit.open_for
                         : std::clamp(oppo_timeout, milliseconds(1000), milliseconds(30000));
  return options;
}

bool is_transient_outcome(std::string_view outcome) {
  return outcome == "timeout" || outcome == "unreachable" || outcome == "throttled" ||
         outcome == "http_5xx";
}

}  // namespace image_gateway::oppo
