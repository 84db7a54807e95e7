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
  std::string username;  // "" : AUTH <password> (the default user); else AUTH <user> <password>
  std::string password;  // "" : no AUTH
  // TLS (rediss://): the server verified against `tls_ca_file` (or the system store) and its name
  // or IP (`tls_server_name` overrides the host); an optional client certificate.
  bool tls = false;
  std::string tls_ca_file;
  std::string tls_cert_file;
  std::string tls_key_file;
  std::string tls_server_name;
  // Sentinel: when `sentinel_master` is set, `sentinels` (host, port) are asked in turn for the
  // master's address at every connection set-up (so a failover is followed: the old master
  // refuses writes or goes away, and the next set-up asks again); `host`/`port` are not used.
  std::string sentinel_master;
  std::vector<std::pair<std::string, std::string>> sentinels;
  // Redis Cluster: when not empty, these (host, port) are seed nodes, asked in turn for the slot
  // map (CLUSTER SLOTS); each command goes to the master serving its first key's slot, MOVED and
  // ASK followed. `host`/`port` are not used.
  std::vector<std::pair<std::string, std::string>> cluster_seeds;
  // Written (with a short expiry) by every connection set-up, so that a server that cannot take
  // the gateway's writes (a replica, an ACL user without write access) is never taken as up.
  // "" : no probe.
  std::string probe_key;
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
// Besides ok: Redis was down (nothing sent), slow, the connection broke, it answered garbage or
// an error; or it refused in a way that makes it unusable for the gateway (each its own reason,
// and each takes the client down until a new connection passes its set-up): a read-only replica,
// refused credentials (WRONGPASS / NOAUTH), an ACL refusal (NOPERM), a failed TLS set-up, a key
// the server does not own (MOVED / ASK).
enum class call_outcome {
  ok,
  down,
  timeout,
  connection,
  protocol,
  error_reply,
  readonly,
  wrongpass,
  noauth,
  noperm,
  tls,
  moved
};
std::string_view to_string(call_outcome outcome);
// What an error reply means, by its first word (error_reply for any other error).
call_outcome outcome_of(const reply& error);

struct call_report {
  std::string_view name;  // the caller's name for the call ("rate_limit", "upload_claim", ...)
  call_outcome outcome;
  std::chrono::microseconds elapsed;  // 0 for `down` (nothing was sent)
  bool set_up = false;  // a refused connection set-up ("connect"), not a caller's call
};
using call_observer = std::function<void(const call_report&)>;

// Pipelined connections, one per calling thread: a call is written on a connection that runs
// on the caller's own executor (no hop to another thread), commands of concurrent callers in the
// order they come, replies matched to them in order. A connection of the client's own (the
// monitor) decides whether Redis is up: it is made in the background with back-off (TLS, AUTH,
// SELECT, the write probe, PING) and answers calls while a caller's connection is being made.
// Every call is bounded by `timeout`: when the oldest call waits longer, its connection is taken
// as lost (every call on it fails) and the client goes down until the monitor's next set-up
// passes. While down, calls fail at once without touching the network (the breaker). A garbage
// reply, or a refusal that makes Redis unusable (see call_outcome), takes it down too.
// Thread-safe.
class client {
 public:
  // `log` (may be null) gets one warn line when Redis is lost (naming the reason; again only if
  // the reason changes) and one info line when it is back; the password never appears in them.
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

  // True while Redis is up and takes the gateway's writes.
  bool up() const;
  // Waits (blocking, for tests and start-up) until up or the time passed; true when up.
  bool wait_up(std::chrono::milliseconds at_most) const;

  struct impl;

 private:
  std::shared_ptr<impl> impl_;
};

}  // namespace image_gateway::redis
