#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <memory>
#include <string>

#include "image_gateway/api/error.hpp"
#include "image_gateway/api/image_request.hpp"
#include "image_gateway/config/config.hpp"
#include "image_gateway/http_client/http_client.hpp"
#include "image_gateway/image/image_check.hpp"
#include "image_gateway/oppo/token_cache.hpp"

namespace image_gateway::oppo {

// Uploads pictures to OPPO's media API (SPEC §4): token from the cache, multipart upload, on
// 11/29 one refresh and one retry with the new token, transient answers retried with jittered
// exponential back-off within the deadline, business codes never retried. Thread-safe.
class oppo_client {
 public:
  oppo_client(http_client& client, const oppo_config& settings, clock_fn clock = {});

  // OPPO's picture id, or: upstream_rejected (51 with `upstream`), upstream_credentials,
  // upstream_bad_answer, upstream_unavailable.
  boost::asio::awaitable<result<std::string>> upload(const oppo_credentials& credentials,
                                                     image_kind kind,
                                                     std::shared_ptr<const std::string> bytes,
                                                     image_format format, steady_time deadline);

  token_cache& tokens() { return tokens_; }

 private:
  http_client& client_;
  oppo_config settings_;
  token_cache tokens_;
};

}  // namespace image_gateway::oppo
