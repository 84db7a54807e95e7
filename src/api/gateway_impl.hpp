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
#include "image_gateway/api/fit_slots.hpp"
#include "image_gateway/api/gateway.hpp"
#include "image_gateway/api/image_form.hpp"
#include "image_gateway/api/image_request.hpp"
#include "image_gateway/api/rate_limit.hpp"
#include "image_gateway/api/request_options.hpp"
#include "image_gateway/auth/basic_auth.hpp"
#include "image_gateway/cache/upload_cache.hpp"
#include "image_gateway/log/logger.hpp"
#include "image_gateway/metrics/metrics.hpp"
#include "image_gateway/metrics/series_table.hpp"
#include "image_gateway/oppo/oppo_client.hpp"
#include "image_gateway/redis/client.hpp"
#include "image_gateway/replicas/redis_token_store.hpp"
#include "image_gateway/replicas/shared_rate_limit.hpp"
#include "image_gateway/replicas/upload_flight.hpp"
#include "image_gateway/util/trace_context.hpp"
#include "router.hpp"

namespace image_gateway {

// The detail of every 401: missing, malformed or wrong credentials are not told apart.
inline constexpr std::string_view unauthorized_detail = "missing or wrong Basic credentials";

// The JSON error answer for an api_error, with its HTTP status (and WWW-Authenticate on 401).
api_response error_response(const api_error& error);

// What gateway::screen decided from an image request's header: the caller, and the rate limit's
// verdict (the local bucket's, or the one shared through Redis).
struct header_admission {
  const app_config* app = nullptr;
  std::optional<rate_limiter::decision> rate;
};

// The request's W3C Trace Context: the caller's valid `traceparent` and `tracestate`, or a new
// trace when it sent none valid and `start_one` (trace.generate) is set; empty otherwise.
trace_context caller_trace(const api_request& request, bool start_one);

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
  trace_context tracing;  // the caller's W3C trace (or one started here), continued upstream

  // Notes the error for the log line and makes its answer.
  api_response fail(const api_error& failure);
  api_response fail(api_error&& failure);  // the same, the detail moved rather than copied
};

// Holds one place of server.max_inflight for as long as a
// request runs; moves into the pipeline's coroutine with the request.
class in_flight_slot {
 public:
  // `count` was already raised by the caller's admission check; `gauge`, when given, shows it.
  explicit in_flight_slot(std::atomic<std::size_t>& count, metrics::gauge* gauge = nullptr)
      : count_(&count), gauge_(gauge) {
    if (gauge_ != nullptr) gauge_->add(1);
  }
  in_flight_slot(in_flight_slot&& other) noexcept
      : count_(std::exchange(other.count_, nullptr)), gauge_(other.gauge_) {}
  in_flight_slot& operator=(in_flight_slot&&) = delete;
  ~in_flight_slot() {
    if (count_ == nullptr) return;
    --*count_;
    if (gauge_ != nullptr) gauge_->add(-1);
  }

 private:
  std::atomic<std::size_t>* count_;
  metrics::gauge* gauge_;
};

// An image request that passed the checks needing no I/O: who asks, and for what.
struct admitted_request {
  const app_config* app = nullptr;
  image_request asked;             // the URLs of a JSON body
  std::optional<image_form> form;  // set instead when the images came in a multipart body
  request_options options;         // ?dry_run=true
};

struct gateway::impl {
  impl(const config& settings, http_client& fetch_transport, http_client& oppo_transport,
       logger& log, boost::asio::thread_pool& decode_pool);
  ~impl();

  config settings;
  http_client& fetch_transport;
  logger& log;
  boost::asio::thread_pool& decode_pool;
  app_registry apps;
  fetch_rules fetch;
  upload_cache uploads;
  // Revalidation: validators and freshness of checked images, and the fetches running now.
  revalidation_memo revalidation;
  fetch_flights url_fetches;
  oppo::oppo_client oppo;
  rate_limiter limiter;
  metrics::registry stats;
  // Shared state (docs/scaling.md), all null when redis.url is empty.
  std::unique_ptr<redis::client> redis;
  std::unique_ptr<replicas::shared_rate_limit> shared_limiter;
  std::unique_ptr<replicas::redis_token_store> shared_tokens;
  // One upload per image: within this replica always, across replicas with Redis.
  std::unique_ptr<replicas::upload_flight> flights;
  std::atomic<std::size_t> in_flight{0};
  fit_slots fits;  // places for requests with a fit (images.fit.max_inflight, a share per app)
  std::atomic<bool> draining{false};
  std::atomic<bool> drain_window_over{false};

  // The requests_total and request_duration series of one answer, bound on first use (so a
  // series appears in /metrics once it has counted, as before): counting a request then builds
  // no label strings and walks no string-keyed map.
  metrics::counter_family::series requests_series(int code, int http_status);
  metrics::histogram_family::series duration_series(route where);
  metrics::series_table<metrics::counter_family::series, 128> requests_by_answer;
  metrics::series_table<metrics::histogram_family::series, 8> duration_by_route;

  // Draining past the window, or at server.max_inflight: the 503's error. With `take_slot` an
  // admitted request takes its in-flight place (the caller's in_flight_slot gives it back).
  std::optional<api_error> shed(bool take_slot);
  // Counts one OPPO call (or one refused by a breaker) in the metrics.
  void count_oppo_call(const oppo::call_report& report);
  // A warning when OPPO refused the gateway's own credentials: operators must fix the config.
  void warn_about_credentials(const request_trace& trace);

  // Authentication's verdict (`app`, from apps.authenticate: null when the credentials are
  // missing or wrong), then the app's rate limit (in the documented order); sets trace.app_key
  // and trace.rate. With Redis, this synchronous check uses the local fallback bucket (image
  // requests take the shared bucket in screen_shared_limit, or serve_shared_limit unscreened).
  result<const app_config*> check_caller(const app_config* app, request_trace& trace);
  // The rate limit's verdict for an authenticated app: notes it in the trace, 429 when refused.
  std::optional<api_error> judge_rate(const app_config& app, const rate_limiter::decision& decision,
                                      request_trace& trace);
  // POST /v4/image/oppo once routed and authenticated (`app`), the part without I/O in the
  // documented order: auth's verdict, rate limit, query options, body. An error is the request's
  // answer; it costs no coroutine and no upstream call. A multipart body moves into the admitted
  // request (its parts are views).
  result<admitted_request> admit(api_request& request, const app_config* app, request_trace& trace);
  // The part of admit() after the caller's checks: query options, then the JSON or multipart
  // body (which moves into the admitted request).
  result<admitted_request> admit_body(api_request& request, const app_config* app);
  // With Redis, screening the header of an authenticated app with a rate limit: the shared
  // bucket's verdict, the 429 (finished) or nullopt with header.admission set. `header` must
  // outlive the coroutine (the HTTP session awaits it at once).
  boost::asio::awaitable<std::optional<api_response>> screen_shared_limit(
      api_request& header, request_trace trace, const app_config* app,
      std::chrono::steady_clock::time_point started);
  // With Redis, for an unscreened request of an authenticated app with a rate limit: the shared
  // bucket, then the rest.
  boost::asio::awaitable<api_response> serve_shared_limit(
      api_request request, request_trace trace, const app_config* app, in_flight_slot slot,
      std::chrono::steady_clock::time_point started);
  // Counts one Redis call in the metrics.
  void count_redis_call(const redis::call_report& report);
  // The answer for an admitted request whose every image is fresh in memory (the origin's
  // freshness, an id in the upload cache): found without I/O, so answered without a coroutine.
  // nullopt when any image needs more (the request then goes to upload_images).
  std::optional<api_response> answer_if_fresh(const admitted_request& admitted,
                                              request_trace& trace);
  // The rest, for an admitted request: fetch, checks, cache, upload.
  boost::asio::awaitable<api_response> upload_images(const admitted_request& admitted,
                                                     request_trace& trace);
  // The whole life of an admitted request as one coroutine that owns its parts, ending with
  // finish(). Taken by value: the coroutine outlives the caller's frame.
  boost::asio::awaitable<api_response> serve_upload(api_request request, request_trace trace,
                                                    admitted_request admitted, in_flight_slot slot,
                                                    std::chrono::steady_clock::time_point started);
  // Every answer's last step: X-Request-Id, rate headers, metrics and the request log line.
  api_response finish(const api_request& request, request_trace& trace, api_response response,
                      route where, std::chrono::steady_clock::time_point started);
  // One image fetch for `app` and a fit (its cache tag: a 304 stands only for an id uploaded
  // with the same fit), revalidated when allowed (not for a dry run, which reports the bytes
  // themselves), its transfers counted in the metrics.
  boost::asio::awaitable<result<fetched_image>> fetch_counted(
      std::string url, image_kind kind, std::size_t max_bytes,
      std::chrono::steady_clock::time_point deadline, const app_config& app, std::string fit_tag,
      bool may_revalidate, const trace_context& tracing);
  bool revalidating() const;
  // What a fetch for `app` and a fit uses: its context (revalidation when allowed, counting in
  // the metrics, the requester), and the lookup of the id this caller would upload under.
  fetch_context fetch_context_for(const app_config& app, std::string_view fit_tag,
                                  bool may_revalidate, const trace_context* tracing = nullptr);
  cached_id_lookup cached_id_for(image_kind kind, const app_config& app, std::string fit_tag);
  // Who an image fetched for this app and fit may be answered to from freshness: the OPPO app
  // (whose upload cache holds the id) and the fit.
  static std::string fresh_requester(const app_config& app, std::string_view fit_tag);
  // fetches_total{outcome="fresh"}, bound once: a fresh hit takes no lock of the registry's.
  metrics::counter_family::series fresh_answers = stats.fetches.bind({"fresh"});
  // upload_cache_lookups_total{result="hit"|"miss"}, bound once for the same reason.
  metrics::counter_family::series cache_hits = stats.cache_lookups.bind({"hit"});
  metrics::counter_family::series cache_misses = stats.cache_lookups.bind({"miss"});
};

}  // namespace image_gateway
