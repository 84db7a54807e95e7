#pragma once
// A Redis client for shared state (SPEC §8) that never blocks its caller's thread and never
// makes a request wait for a dead Redis. Asio stays in client.cpp: this header needs only the
// awaitable type.
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "image_gateway/redis/resp.hpp"

namespace image_gateway {
class logger;
}

namespace image_gateway::redis {

struct client_settings {
  std::string host;
  std::string port = "6379";
  int db = 0;
  std::string password;  // "" : no AUTH
  std::chrono::milliseconds timeout{50};
  // Reconnect back-off: from min, doubling, at most max (so Redis is back within ~max of its
  // return).
  std::chrono::milliseconds reconnect_min{50};
  std::chrono::milliseconds reconnect_max{500};
};

// A Lua script run by EVALSHA, falling back to EVAL when Redis does not know it (NOSCRIPT: a
// restarted Redis forgets its scripts).
struct script {
  explicit script(std::string source);
  std::string source;
  std::string sha1;  // lowercase hex
};

// What one call came to, for metrics.
enum class call_outcome { ok, down, timeout, connection, protocol, error_reply };
std::string_view to_string(call_outcome outcome);

struct call_report {
  std::string_view name;  // the caller's name for the call ("rate_limit", "upload_claim", ...)
  call_outcome outcome;
  std::chrono::microseconds elapsed;  // 0 for `down` (nothing was sent)
};
using call_observer = std::function<void(const call_report&)>;

// One connection with pipelining: commands are written in order as they come and replies are
// matched to them in order. The connection runs on the client's own thread; callers await on
// their own executor. Every call is bounded by `timeout`: when the oldest call waits longer,
// the connection is taken as lost (every call on it fails), closed and made again in the
// background with back-off (AUTH and SELECT first, then PING). While it is not up, calls fail at
// once without touching the network (the breaker). A garbage reply drops the connection too.
// Thread-safe.
class client {
 public:
  // `log` (may be null) gets one warn line when Redis is lost and one info line when it is back;
  // the password never appears in them.
  client(client_settings settings, logger* log, call_observer observer = {});
  ~client();
  client(const client&) = delete;
  client& operator=(const client&) = delete;

  // The reply, or nullopt when Redis is down, slow, answered garbage or answered an error
  // (counted through the observer). A `name` must be a string literal (kept by reference).
  boost::asio::awaitable<std::optional<reply>> call(std::vector<std::string> args,
                                                    std::string_view name);
  boost::asio::awaitable<std::optional<reply>> run(const script& lua, std::vector<std::string> keys,
                                                   std::vector<std::string> args,
                                                   std::string_view name);

  // A reply its caller could not use (not the shape its script answers): counted as an error
  // (outcome protocol), and the caller goes on as if Redis had failed.
  void reject(std::string_view name);

  // True while the connection is up and ready for calls.
  bool up() const;
  // Waits (blocking, for tests and start-up) until up or the time passed; true when up.
  bool wait_up(std::chrono::milliseconds at_most) const;

  struct impl;

 private:
  std::shared_ptr<impl> impl_;
};

}  // namespace image_gateway::redis
