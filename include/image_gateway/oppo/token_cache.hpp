#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "image_gateway/config/config.hpp"
#include "image_gateway/domain/error.hpp"
#include "image_gateway/http_client/http_client.hpp"
#include "image_gateway/oppo/circuit_breaker.hpp"
#include "image_gateway/oppo/protocol.hpp"
#include "image_gateway/oppo/token_store.hpp"
#include "image_gateway/util/trace_context.hpp"

namespace image_gateway::oppo {

using steady_time = std::chrono::steady_clock::time_point;
using clock_fn = std::function<system_time()>;

// OPPO auth tokens, one per OPPO app key, refreshed ahead of expiry. Only one refresh runs at a
// time per app key; callers without a usable token wait for its result (on their own executor,
// at most until their deadline). Thread-safe.
//
// Choices beyond the protocol of docs/oppo.md#getting-a-token:
// - A token inside the refresh_ahead window is still good: while one caller refreshes, the others
//   get the old token at once; when that refresh fails, the refresher gets the old token too (no
//   request fails for a refresh that was only ahead of time), and the next ahead-of-time refresh
//   waits retry_pause_after_failure.
// - OPPO may hand back a token it issued earlier, whose end is already inside the window. So that
//   this does not refresh on every request, no refresh runs for refresh_pause_after_success after
//   a successful one unless the caller refuses the cached token (OPPO answered 11/29 to it).
// - Auth answers with a business code are our request's fault, not the caller's: they count as
//   upstream_credentials, as do 11/29 on auth.
// - Auth calls go through a circuit breaker (circuit_breaker.hpp): while it is open, a refresh
//   fails at once with upstream_unavailable and nothing is sent.
// - With a shared store: the token in hand is used without asking the store; only a refresh
//   (none, ending, or refused by OPPO) asks it. A refused token is refreshed only when the store
//   still holds it; a replica that finds the store's refresh lock taken uses the store's token
//   while it is still valid, else polls the store (jittered, within the deadline) until the
//   other replica stored the new one or the lock went. The lock is a lease the refresher renews
//   while it calls OPPO: a refresher that vanished holds the others back one lease at most.
class token_cache {
 public:
  // How long before its end a token is refreshed.
  static constexpr std::chrono::minutes refresh_ahead{60};
  static constexpr std::chrono::seconds refresh_pause_after_success{60};
  static constexpr std::chrono::seconds retry_pause_after_failure{30};
  // Largest auth answer read.
  static constexpr std::size_t max_answer_bytes = 64 * 1024;

  token_cache(http_client& client, const oppo_config& settings, clock_fn clock = {},
              const circuit_settings& circuit = {});
  ~token_cache();

  // A token that is not `refused` (a token OPPO answered 11/29 to; "" for none): the cached one,
  // or a fresh one from POST /server/v1/auth. Errors: upstream_credentials (OPPO refused our
  // app key/secret), upstream_unavailable (time-out, unreachable, 5xx, -1/-2/13/55),
  // upstream_bad_answer.
  // An auth call it makes continues `trace` (W3C Trace Context) when that is not empty. (An
  // overload, not a default argument: GCC 12 destroys a defaulted temporary of a co_await twice.)
  boost::asio::awaitable<result<std::string>> get(const oppo_credentials& credentials,
                                                  std::string_view refused, steady_time deadline,
                                                  trace_context trace);
  boost::asio::awaitable<result<std::string>> get(const oppo_credentials& credentials,
                                                  std::string_view refused, steady_time deadline) {
    return get(credentials, refused, deadline, trace_context{});
  }

  // Refreshes done so far (metrics and tests).
  std::uint64_t refresh_count() const;

  // Called after every auth call (and every one the breaker refused). Set before the first call.
  void set_observer(call_observer observer);
  // Shares tokens with other replicas (docs/scaling.md#what-is-shared): a refresh first looks in
  // the store, and one replica at a time calls OPPO under the store's lock. When the store fails,
  // the cache goes on alone. Set before the first call; the store must outlive the cache.
  void set_shared_store(token_store* store);
  const circuit_breaker& circuit() const;

 private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

}  // namespace image_gateway::oppo
