#pragma once
// Time-outs for one connection with one timer that is rarely touched. Beast's tcp_stream arms and
// cancels a timer around every read and write (a timer-queue insert and removal, often a
// timerfd_settime, per operation): for a small answer that was a visible share of its CPU.
// Here setting a deadline is a store; the timer is re-armed only when a deadline moves earlier
// than the time it is armed for, and a watchdog that wakes at the armed time re-checks.
//
// The watchdog is a detached coroutine sharing the state below, not one joined to the
// connection's with ||: that would put a cancellation slot on every read and write.
#include <chrono>
#include <memory>

#include <time.h>

#include "beast.hpp"

namespace image_gateway {

class connection_deadline {
 public:
  using clock = std::chrono::steady_clock;

  // Starts the watchdog on the socket's executor; create and use on that executor only.
  explicit connection_deadline(tcp::socket& socket) : state_(std::make_shared<watched>(socket)) {
    net::co_spawn(socket.get_executor(), watch(state_), net::detached);
  }
  ~connection_deadline() {
    state_->socket = nullptr;
    state_->timer.cancel();  // the watchdog wakes, sees no socket, and ends
  }
  connection_deadline(const connection_deadline&) = delete;
  connection_deadline& operator=(const connection_deadline&) = delete;

  // The current operation must be over by `when`, else the socket is closed (its pending and
  // later operations fail) and timed_out() becomes true.
  void expire_at(clock::time_point when) {
    watched& s = *state_;
    s.deadline = when;
    if (when < s.armed) {
      s.armed = when;
      s.timer.expires_at(when);  // wakes the watchdog, which re-arms for `when`
    }
  }
  // From the coarse clock (the kernel's tick, read without the TSC: a few ns instead of ~20,
  // three times a request) plus its resolution, so a deadline is never early and at most two
  // ticks (~8 ms) late: time-outs here are seconds.
  void expire_after(std::chrono::milliseconds after) { expire_at(coarse_now() + after); }
  void expire_never() { state_->deadline = clock::time_point::max(); }

  bool timed_out() const { return state_->timed_out; }

 private:
  struct watched {
    explicit watched(tcp::socket& s) : socket(&s), timer(s.get_executor()) {}
    tcp::socket* socket;  // null once the connection is over
    net::steady_timer timer;
    clock::time_point deadline = clock::time_point::max();
    clock::time_point armed = clock::time_point::max();
    bool timed_out = false;
  };

  static clock::time_point coarse_now() {
    static const clock::duration resolution = [] {
      timespec r{};
      ::clock_getres(CLOCK_MONOTONIC_COARSE, &r);
      return std::chrono::duration_cast<clock::duration>(std::chrono::seconds(r.tv_sec) +
                                                         std::chrono::nanoseconds(r.tv_nsec));
    }();
    timespec now{};
    ::clock_gettime(CLOCK_MONOTONIC_COARSE, &now);  // steady_clock's epoch (CLOCK_MONOTONIC)
    return clock::time_point(std::chrono::duration_cast<clock::duration>(
               std::chrono::seconds(now.tv_sec) + std::chrono::nanoseconds(now.tv_nsec))) +
           resolution;
  }

  static net::awaitable<void> watch(std::shared_ptr<watched> s) {
    while (s->socket != nullptr) {
      s->armed = s->deadline;
      s->timer.expires_at(s->armed);
      const auto [ec] = co_await s->timer.async_wait(net::as_tuple(net::use_awaitable));
      if (s->socket == nullptr) co_return;
      if (ec != net::error::operation_aborted && clock::now() >= s->deadline) {
        s->timed_out = true;
        s->deadline = clock::time_point::max();
        // Closed, not only cancelled: a composed operation between two reads has nothing
        // pending to cancel, but its next read fails at once on a closed socket.
        boost::system::error_code ignored;
        s->socket->close(ignored);
      }
      // Otherwise re-armed earlier, or woken for a deadline that has since moved later.
    }
  }

  std::shared_ptr<watched> state_;
};

}  // namespace image_gateway
