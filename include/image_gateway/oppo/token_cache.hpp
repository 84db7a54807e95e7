#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "image_gateway/api/error.hpp"
#include "image_gateway/config/config.hpp"
#include "image_gateway/http_client/http_client.hpp"
#include "image_gateway/oppo/protocol.hpp"

namespace image_gateway::oppo {

using steady_time = std::chrono::steady_clock::time_point;
using clock_fn = std::function<system_time()>;

// OPPO auth tokens, one per OPPO app key, refreshed ahead of expiry. Only one refresh runs at a
// time per app key; concurrent callers wait for its result. Thread-safe.
class token_cache {
 public:
  // How long before its end a token is refreshed.
  static constexpr std::chrono::minutes refresh_ahead{60};

  token_cache(http_client& client, const oppo_config& settings, clock_fn clock = {});
  ~token_cache();

  // A token that is not `refused` (a token OPPO answered 11/29 to; "" for none): the cached one,
  // or a fresh one from POST /server/v1/auth. Errors: upstream_credentials (OPPO refused our
  // app key/secret), upstream_unavailable (time-out, unreachable, 5xx, -1/-2/13/55),
  // upstream_bad_answer.
  boost::asio::awaitable<result<std::string>> get(const oppo_credentials& credentials,
                                                  std::string_view refused, steady_time deadline);

  // Refreshes done so far (metrics and tests).
  std::uint64_t refresh_count() const;

 private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

}  // namespace image_gateway::oppo
