#pragma once
// The parts gateway owns, shared by the files of api/.
#include <array>
#include <atomic>
#include <boost/asio/thread_pool.hpp>
#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

#include "image_fetch.hpp"
#include "image_gateway/api/gateway.hpp"
#include "image_gateway/api/rate_limit.hpp"
#include "image_gateway/auth/basic_auth.hpp"
#include "image_gateway/cache/upload_cache.hpp"
#include "image_gateway/log/logger.hpp"
#include "image_gateway/metrics/metrics.hpp"
#include "image_gateway/oppo/oppo_client.hpp"
#include "router.hpp"

namespace image_gateway {

// The detail of every 401: missing, malformed or wrong credentials are not told apart.
inline constexpr std::string_view unauthorized_detail = "missing or wrong Basic credentials";

// The JSON error answer for an api_error, with its HTTP status (and WWW-Authenticate on 401).
api_response error_response(const api_error& error);

// What one request did, for its log line.
struct request_trace {
  std::string request_id;
  std::string app_key;
  std::string cache;  // "hit", "miss" or "" when no image was handled
  std::size_t bytes_fetched = 0;
  std::chrono::microseconds upstream_time{0};
  std::optional<error_kind> error;
  std::string error_detail;  // logged only for 5xx answers, whose details are the gateway's own
  std::optional<rate_limiter::decision> rate;  // set when the app has a rate limit

  // Notes the error for the log line and makes its answer.
  api_response fail(const api_error& failure);
};

struct gateway::impl {
  impl(const config& settings, http_client& fetch_transport, http_client& oppo_transport,
       logger& log, boost::asio::thread_pool& decode_pool);

  config settings;
  http_client& fetch_transport;
  logger& log;
  boost::asio::thread_pool& decode_pool;
  app_registry apps;
  fetch_rules fetch;
  upload_cache uploads;
  oppo::oppo_client oppo;
  rate_limiter limiter;
  metrics::registry stats;
  std::atomic<std::size_t> in_flight{0};
  std::atomic<bool> draining{false};
  std::atomic<bool> drain_window_over{false};

  // The requests_total and request_duration series of one answer, bound on first use (so a
  // series appears in /metrics once it has counted, as before): counting a request then builds
  // no label strings and walks no string-keyed map.
  metrics::counter_family::series requests_series(int code, int http_status);
  metrics::histogram_family::series duration_series(route where);
  std::mutex series_mutex;
  std::map<std::pair<int, int>, metrics::counter_family::series> requests_by_answer;
  std::array<std::optional<metrics::histogram_family::series>, 5> duration_by_route;

  // Counts one OPPO call (or one refused by a breaker) in the metrics.
  void count_oppo_call(const oppo::call_report& report);
  // A warning when OPPO refused the gateway's own credentials: operators must fix the config.
  void warn_about_credentials(const request_trace& trace);

  // POST /v4/image/oppo once routed: auth, body, fetch, checks, cache, upload.
  boost::asio::awaitable<api_response> upload_images(const api_request& request,
                                                     request_trace& trace);
  // One image fetch, counted in the metrics.
  boost::asio::awaitable<result<fetched_image>> fetch_counted(
      std::string url, image_kind kind, std::size_t max_bytes,
      std::chrono::steady_clock::time_point deadline);
};

}  // namespace image_gateway
