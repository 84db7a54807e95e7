#pragma once

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "image_gateway/api/image_request.hpp"
#include "image_gateway/config/config.hpp"
#include "image_gateway/domain/error.hpp"
#include "image_gateway/http_client/http_client.hpp"
#include "image_gateway/image/image_check.hpp"
#include "image_gateway/oppo/circuit_breaker.hpp"
#include "image_gateway/oppo/token_cache.hpp"
#include "image_gateway/util/shared_bytes.hpp"
#include "image_gateway/util/trace_context.hpp"

namespace image_gateway::oppo {

// Uploads pictures to OPPO's media API (docs/oppo.md#uploading-a-picture): token from the cache,
// multipart upload, on 11/29 one refresh and one retry with the new token, transient answers
// retried with jittered exponential back-off within the deadline, business codes never retried.
// Uploads and auth calls each go through a circuit breaker: after `failure_threshold` transient
// failures in a row it fails fast (upstream_unavailable, nothing sent) and lets one probe through
// after its cool-down. Thread-safe.
class oppo_client {
 public:
  oppo_client(http_client& client, const oppo_config& settings, clock_fn clock = {},
              const circuit_settings& circuit = {});

  // OPPO's picture id, or: upstream_rejected (51 with `upstream`), upstream_credentials,
  // upstream_bad_answer, upstream_unavailable.
  // Its OPPO calls (auth and upload) continue `trace` (W3C Trace Context) when it is not empty.
  // (An overload, not a default argument: GCC 12 destroys a defaulted temporary of a co_await
  // twice.)
  boost::asio::awaitable<result<std::string>> upload(const oppo_credentials& credentials,
                                                     image_kind kind, shared_bytes bytes,
                                                     image_format format, steady_time deadline,
                                                     trace_context trace);
  boost::asio::awaitable<result<std::string>> upload(const oppo_credentials& credentials,
                                                     image_kind kind, shared_bytes bytes,
                                                     image_format format, steady_time deadline) {
    return upload(credentials, kind, std::move(bytes), format, deadline, trace_context{});
  }

  token_cache& tokens() { return tokens_; }
  const circuit_breaker& upload_circuit() const { return upload_breaker_; }
  const circuit_breaker& auth_circuit() const { return tokens_.circuit(); }

  // Called after every OPPO call, auth and upload (metrics). Set before the first upload.
  void set_observer(call_observer observer);

  // Back-off between transient failures: uniform(0, min(cap, base * 2^retry)) ("full jitter").
  static constexpr std::chrono::milliseconds backoff_base{100};
  static constexpr std::chrono::milliseconds backoff_cap{2000};
  // Largest upload answer read.
  static constexpr std::size_t max_answer_bytes = 64 * 1024;

  // For metrics: upload requests sent to OPPO (every attempt), transient retries, and retries
  // with a fresh token after OPPO refused one (11/29).
  std::uint64_t upload_attempts() const { return upload_attempts_.load(); }
  std::uint64_t transient_retries() const { return transient_retries_.load(); }
  std::uint64_t token_retries() const { return token_retries_.load(); }

 private:
  http_client& client_;
  oppo_config settings_;
  token_cache tokens_;
  circuit_breaker upload_breaker_;
  call_observer observer_;
  std::atomic<std::uint64_t> upload_attempts_{0};
  std::atomic<std::uint64_t> transient_retries_{0};
  std::atomic<std::uint64_t> token_retries_{0};
};

}  // namespace image_gateway::oppo
