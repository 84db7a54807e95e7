#pragma once
// Time-outs for one connection with one timer that is rarely touched. Beast's tcp_stream arms and
// cancels a timer around every read and write (a timer-queue insert and removal, often a
// timerfd_settime, per operation): for a small answer that was a visible share of its CPU.
// Here setting a deadline is a store; the timer is re-armed only when a deadline moves earlier
// than the time it is armed for, and a watchdog that wakes at the armed time re-checks.
#include <chrono>

#include "beast.hpp"

namespace image_gateway {

class connection_deadline {
 public:
  using clock = std::chrono::steady_clock;

  explicit connection_deadline(tcp::socket& socket)
      : socket_(socket), timer_(socket.get_executor(), clock::time_point::max()) {}

  // The current operation must be over by `when`, else the socket is closed (its pending and
  // later operations fail) and timed_out() becomes true. Call on the connection's executor.
  void expire_at(clock::time_point when) {
    deadline_ = when;
    if (when < armed_) {
      armed_ = when;
      timer_.expires_at(when);  // wakes the watchdog, which re-arms for `when`
    }
  }
  void expire_after(std::chrono::milliseconds after) { expire_at(clock::now() + after); }
  void expire_never() { deadline_ = clock::time_point::max(); }

  bool timed_out() const { return timed_out_; }

  // Runs beside the connection's own coroutine (joined with ||) and ends only when cancelled.
  net::awaitable<void> watch() {
    for (;;) {
      armed_ = deadline_;
      timer_.expires_at(armed_);
      const auto [ec] = co_await timer_.async_wait(net::as_tuple(net::use_awaitable));
      if ((co_await net::this_coro::cancellation_state).cancelled() !=
          net::cancellation_type::none) {
        co_return;  // the connection is over
      }
      if (ec != net::error::operation_aborted && clock::now() >= deadline_) {
        timed_out_ = true;
        deadline_ = clock::time_point::max();
        // Closed, not only cancelled: a composed operation between two reads has nothing
        // pending to cancel, but its next read fails at once on a closed socket.
        boost::system::error_code ignored;
        socket_.close(ignored);
      }
      // Otherwise re-armed earlier, or woken for a deadline that has since moved later.
    }
  }

 private:
  tcp::socket& socket_;
  net::steady_timer timer_;
  clock::time_point deadline_ = clock::time_point::max();
  clock::time_point armed_ = clock::time_point::max();
  bool timed_out_ = false;
};

}  // namespace image_gateway
