#pragma once
// What the listener and its sessions share: limits, hooks and the set of open sessions.
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_set>

#include "beast.hpp"
#include "image_gateway/server/http_server.hpp"

namespace image_gateway {

// One open connection as the server sees it, for draining.
struct session_handle {
  net::any_io_executor executor;  // the connection's strand, or the io_context's own executor
  tcp::socket* socket = nullptr;  // valid while the session runs, used on its strand only
  bool busy = false;              // a request is being read, handled or answered
  bool close_after_response = false;
  // Bound to the session's coroutine: a client that leaves mid-request cancels its handler's
  // pending operation through it (http_session.cpp, disconnect_watch).
  net::cancellation_signal cancel;
};

struct server_state {
  server_limits limits;
  http_server::hooks hooks;
  logger* log = nullptr;

  std::atomic<bool> closing_idle{false};  // drain: idle connections close, busy ones after reply
  std::atomic<std::size_t> open_connections{0};
  std::atomic<std::uint64_t> buffered_body_bytes{0};  // shares of limits.max_buffered_body_bytes

  std::mutex sessions_mutex;
  std::unordered_set<std::shared_ptr<session_handle>> sessions;
};

// One request's share of limits.max_buffered_body_bytes, held while its body is in memory
// (read, handled, answered) and given back when it goes out of scope.
class body_budget_share {
 public:
  explicit body_budget_share(std::atomic<std::uint64_t>& used) : used_(used) {}
  ~body_budget_share() { used_ -= taken_; }
  body_budget_share(const body_budget_share&) = delete;
  body_budget_share& operator=(const body_budget_share&) = delete;

  // Takes `bytes` when they fit under `limit` with every other share; false when they do not.
  bool take(std::uint64_t bytes, std::uint64_t limit) {
    std::uint64_t now = used_.load();
    do {
      if (now > limit || bytes > limit - now) return false;
    } while (!used_.compare_exchange_weak(now, now + bytes));
    taken_ += bytes;
    return true;
  }

 private:
  std::atomic<std::uint64_t>& used_;
  std::uint64_t taken_ = 0;
};

// "127.0.0.1:8080", "[::1]:8080".
std::string endpoint_text(const tcp::endpoint& endpoint);

// Serves one connection until it closes; runs on the session's strand.
net::awaitable<void> run_session(std::shared_ptr<server_state> state, tcp::socket socket,
                                 std::shared_ptr<session_handle> handle);

}  // namespace image_gateway
