// The HTTP API around the pipeline: routing, request ids, envelopes and the request log line.
#include "image_gateway/api/gateway.hpp"

#include <nlohmann/json.hpp>
#include <sstream>

#include "gateway_impl.hpp"
#include "image_gateway/api/multipart_form.hpp"
#include "image_gateway/metrics/metrics.hpp"
#include "image_gateway/util/random_hex.hpp"
#include "router.hpp"

namespace image_gateway {
namespace {

bool is_sane_request_id(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (const char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

std::string new_request_id() { return random_hex(32); }

// The caller's X-Request-Id when it is sane, else a new one.
std::string request_id_of(const api_request& request) {
  const std::string_view caller_id = request.header("x-request-id");
  return is_sane_request_id(caller_id) ? std::string(caller_id) : new_request_id();
}

// The detail of a 503 the HTTP server answers at one of its limits (`limit`, a shed_* name).
std::string server_limit_detail(const config& settings, std::string_view limit) {
  if (limit == shed_file_descriptors) {
    return "the gateway is out of file descriptors (its open file limit); try again shortly";
  }
  if (limit == shed_max_buffered_body_bytes) {
    return "request bodies being received already use the gateway's budget of " +
           std::to_string(settings.server.max_buffered_body_bytes) +
           " bytes (server.max_buffered_body_bytes)";
  }
  return "too many open connections (server.max_connections)";
}

std::string_view route_name(route r) {
  switch (r) {
    case route::image_upload:
      return "image";
    case route::health:
      return "healthz";
    case route::ready:
      return "readyz";
    case route::metrics:
      return "metrics";
    case route::not_found:
      break;
  }
  return "other";
}

api_error no_such_route(const api_request& request) {
  return {error_kind::route_not_found, "no " + request.method + " " + request.path + " here",
          std::nullopt};
}

// The 413's detail names the limit that applied: multipart/form-data bodies have their own.
api_error body_too_large(const server_config& server, const api_request& partial) {
  const bool multipart = is_multipart_form_data(partial.header("content-type"));
  return {error_kind::body_too_large,
          std::string(multipart ? "multipart/form-data " : "") + "request body is larger than " +
              std::to_string(multipart ? server.max_body_multipart_bytes : server.max_body_bytes) +
              " bytes (server." + (multipart ? "max_body_multipart_bytes" : "max_body_bytes") + ")",
          std::nullopt};
}

api_response status_json(int status, std::string_view text) {
  api_response response;
  response.status = status;
  response.body = nlohmann::json{{"status", text}}.dump();
  return response;
}

// Every 401 says the same words: its body is serialized once, not for every refused request
// (nlohmann's serializer was ~5 % of the CPU of a 401).
std::string body_of(const api_error& error) {
  if (error.kind == error_kind::unauthorized && !error.upstream &&
      error.detail == unauthorized_detail) {
    static const std::string body = error_body(error);
    return body;
  }
  return error_body(error);
}
}  // namespace

api_response error_response(const api_error& error) {
  const error_description row = describe(error.kind);
  api_response response;
  response.status = row.http_status;
  response.body = body_of(error);
  if (error.kind == error_kind::unauthorized) {
    response.with_header("WWW-Authenticate", "Basic realm=\"image-gateway\"");
  }
  if (row.http_status == 503) response.with_header("Retry-After", "1");
  return response;
}

namespace {
// X-Rate-Limit-* on every answer to an app with a limit; Retry-After when it was refused.
void add_rate_headers(api_response& response, const request_trace& trace) {
  if (!trace.rate) return;
  const auto& rate = *trace.rate;
  std::ostringstream limit;
  limit << rate.limit;
  response.with_header("X-Rate-Limit-Limit", limit.str());
  response.with_header("X-Rate-Limit-Remaining", std::to_string(rate.remaining));
  response.with_header("X-Rate-Limit-Reset", std::to_string(rate.reset_s));
  if (!rate.allowed) response.with_header("Retry-After", std::to_string(rate.retry_after_s));
}
}  // namespace

api_response request_trace::fail(const api_error& failure) { return fail(api_error(failure)); }

api_response request_trace::fail(api_error&& failure) {
  api_response response = error_response(failure);
  error = failure.kind;
  error_detail = std::move(failure.detail);
  return response;
}

namespace {

// Sentinel and cluster modes: the URL's address and the seeds are the sentinels, or the seed
// nodes (none in any other mode).
std::vector<std::pair<std::string, std::string>> seeds_in(const redis_config& r, redis_mode mode) {
  std::vector<std::pair<std::string, std::string>> out;
  if (r.mode != mode) return out;
  out.emplace_back(r.host, r.port);
  for (const redis_endpoint& seed : r.seeds) out.emplace_back(seed.host, seed.port);
  return out;
}

}  // namespace

gateway::impl::impl(const config& settings_in, http_client& fetch_transport_in,
                    http_client& oppo_transport, logger& log_in,
                    boost::asio::thread_pool& decode_pool_in)
    : settings(settings_in),
      fetch_transport(fetch_transport_in),
      log(log_in),
      decode_pool(decode_pool_in),
      apps(settings_in.apps),
      fetch{settings_in.fetch,
            std::make_shared<const address_policy>(settings_in.fetch.allow_networks)},
      uploads(settings_in.cache.max_entries),
      revalidation(settings_in.fetch.revalidate ? settings_in.cache.max_entries : 0),
      oppo(oppo_transport, settings_in.oppo),
      fits(settings_in.images.fit.max_inflight, fit_share_per_app(settings_in.images.fit)) {
  stats.cache_entries.set_source([this] { return static_cast<double>(uploads.size()); });
  stats.cache_evictions.set_source([this] { return static_cast<double>(uploads.evictions()); });
  stats.oppo_circuit_open.set_source({"auth"},
                                     [this] { return oppo.auth_circuit().refusing() ? 1.0 : 0.0; });
  stats.oppo_circuit_open.set_source(
      {"upload"}, [this] { return oppo.upload_circuit().refusing() ? 1.0 : 0.0; });
  stats.build_info.set_source({IMAGE_GATEWAY_VERSION}, [] { return 1.0; });
  stats.log_lines_dropped.set_source([this] { return static_cast<double>(log.dropped()); });
  oppo.set_observer([this](const oppo::call_report& report) { count_oppo_call(report); });
  if (settings.redis.enabled()) {
    const redis_config& r = settings.redis;
    redis = std::make_unique<redis::client>(
        redis::client_settings{
            .host = r.host,
            .port = r.port,
            .db = r.db,
            .username = r.username,
            .password = r.password,
            .tls = r.tls,
            .tls_ca_file = r.tls_files.ca_file,
            .tls_cert_file = r.tls_files.cert_file,
            .tls_key_file = r.tls_files.key_file,
            .tls_server_name = r.tls_files.server_name,
            .sentinel_master = r.mode == redis_mode::sentinel ? r.sentinel_master : std::string(),
            .sentinels = seeds_in(r, redis_mode::sentinel),
            .cluster_seeds = seeds_in(r, redis_mode::cluster),
            .probe_key = r.key_prefix + "writable:{probe}",
            .timeout = r.timeout},
        &log, [this](const redis::call_report& report) { count_redis_call(report); });
    const replicas::key_layout keys(r.key_prefix);
    shared_limiter =
        std::make_unique<replicas::shared_rate_limit>(*redis, keys, r.expected_replicas);
    shared_tokens = std::make_unique<replicas::redis_token_store>(*redis, keys, r.lock_lease);
    oppo.tokens().set_shared_store(shared_tokens.get());
    stats.redis_enabled = true;
    stats.redis_up.set_source([this] { return redis->up() ? 1.0 : 0.0; });
  }
  flights = std::make_unique<replicas::upload_flight>(
      uploads, redis.get(), replicas::key_layout(settings.redis.key_prefix),
      settings.redis.lock_lease);
}

gateway::impl::~impl() {
  // The OPPO client's token cache holds a pointer to the store: gone first, never called again.
  oppo.tokens().set_shared_store(nullptr);
}

void gateway::impl::count_redis_call(const redis::call_report& report) {
  if (report.outcome != redis::call_outcome::down && !report.set_up) {
    stats.redis_duration.observe({std::string(report.name)},
                                 std::chrono::duration<double>(report.elapsed).count());
  }
  if (report.outcome != redis::call_outcome::ok) {
    stats.redis_errors.add({std::string(redis::to_string(report.outcome))});
  }
}

metrics::counter_family::series gateway::impl::requests_series(int code, int http_status) {
  // Codes and statuses are small non-negative numbers; the key is never 0.
  const std::uint64_t key = (static_cast<std::uint64_t>(static_cast<std::uint32_t>(code)) << 20) |
                            (static_cast<std::uint32_t>(http_status) & 0xFFFFF) | (1ULL << 63);
  return requests_by_answer.get(key, [&] {
    return stats.requests.bind({std::to_string(code), std::to_string(http_status)});
  });
}

metrics::histogram_family::series gateway::impl::duration_series(route where) {
  return duration_by_route.get(static_cast<std::uint64_t>(where) + 1, [&] {
    return stats.request_duration.bind({std::string(route_name(where))});
  });
}

void gateway::impl::count_oppo_call(const oppo::call_report& report) {
  const std::string endpoint(report.endpoint);
  stats.oppo_calls.add({endpoint, std::string(report.outcome)});
  if (!report.sent()) return;
  stats.oppo_duration.observe({endpoint}, std::chrono::duration<double>(report.elapsed).count());
  if (report.connections_opened > 0) {
    stats.oppo_connections.add({endpoint}, static_cast<double>(report.connections_opened));
  }
  if (report.endpoint == "auth") {
    stats.token_refreshes.add({report.outcome == "ok" ? "ok" : "failed"});
  }
}

std::optional<api_error> gateway::impl::shed(bool take_slot) {
  if (drain_window_over) {
    stats.shed.add({"draining"});
    return api_error{error_kind::overloaded, "the gateway is shutting down", std::nullopt};
  }
  const std::size_t limit = settings.server.max_inflight;
  if (take_slot ? in_flight.fetch_add(1) >= limit : in_flight.load() >= limit) {
    if (take_slot) --in_flight;
    stats.shed.add({"max_inflight"});
    return api_error{error_kind::overloaded,
                     "the gateway is at its limit of " + std::to_string(limit) +
                         " requests in flight (server.max_inflight)",
                     std::nullopt};
  }
  return std::nullopt;
}

void gateway::impl::warn_about_credentials(const request_trace& trace) {
  // Only the gateway's own words: the detail names OPPO's code and message, never a secret.
  log.write(log_level::warn, "OPPO refused the gateway's credentials",
            {{"request_id", trace.request_id},
             {"app_key", trace.app_key},
             {"detail", trace.error_detail},
             {"hint", "check apps[].oppo.app_key and master_secret for this app"}});
}

gateway::gateway(const config& settings, http_client& fetch_transport, http_client& oppo_transport,
                 logger& log, boost::asio::thread_pool& decode_pool)
    : impl_(std::make_unique<impl>(settings, fetch_transport, oppo_transport, log, decode_pool)) {}

gateway::~gateway() = default;

void gateway::begin_drain() { impl_->draining = true; }
bool gateway::draining() const { return impl_->draining; }
void gateway::end_drain_window() { impl_->drain_window_over = true; }
void gateway::connections_changed(int delta) { impl_->stats.connections.add(delta); }
metrics::registry& gateway::metrics() { return impl_->stats; }

handler_result gateway::handle(api_request request) {
  const auto started = std::chrono::steady_clock::now();
  request_trace trace;
  trace.request_id = request_id_of(request);
  trace.tracing = caller_trace(request, impl_->settings.trace.generate);

  api_response response;
  const route where = resolve_route(request.method, request.path);
  switch (where) {
    case route::image_upload:
      // Shed before any work (even auth): overload must stay cheap.
      if (auto shed = impl_->shed(true)) {
        response = trace.fail(*shed);
      } else {
        in_flight_slot slot(impl_->in_flight, &impl_->stats.in_flight);
        // Screened on its header (gateway::screen), a request was authenticated and its rate
        // limit taken there: not again.
        const header_admission* screened = request.admission.get();
        const app_config* app = screened != nullptr
                                    ? screened->app
                                    : impl_->apps.authenticate(request.header("authorization"));
        if (screened != nullptr) {
          trace.app_key = app->app_key;
          trace.rate = screened->rate;
        }
        if (screened == nullptr && impl_->shared_limiter && app != nullptr &&
            app->rate_limit_per_s > 0) {
          // Not screened (no header hook): the shared rate limit, a Redis call, is taken here.
          trace.app_key = app->app_key;
          return impl_->serve_shared_limit(std::move(request), std::move(trace), app,
                                           std::move(slot), started);
        }
        auto admitted = screened != nullptr ? impl_->admit_body(request, app)
                                            : impl_->admit(request, app, trace);
        if (!admitted) {
          response = trace.fail(admitted.error());
          break;
        }
        // Every image fresh in memory: answered now, with no coroutine.
        if (auto fresh = impl_->answer_if_fresh(admitted.value(), trace)) {
          response = std::move(*fresh);
          break;
        }
        // Only now is there I/O to wait for: the rest runs as a coroutine.
        return impl_->serve_upload(std::move(request), std::move(trace),
                                   std::move(admitted).value(), std::move(slot), started);
      }
      break;
    case route::health:
      response = status_json(200, "ok");
      break;
    case route::ready:
      response = impl_->draining ? status_json(503, "draining") : status_json(200, "ready");
      break;
    case route::metrics:
      response.content_type = "text/plain; version=0.0.4; charset=utf-8";
      response.body = impl_->stats.render();
      break;
    case route::not_found:
      response = trace.fail(no_such_route(request));
      break;
  }
  return impl_->finish(request, trace, std::move(response), where, started);
}

screen_result gateway::screen(api_request& header) {
  const route where = resolve_route(header.method, header.path);
  // Every other route answers at once and needs no body: it is answered on the header.
  if (where != route::image_upload) return std::get<api_response>(handle(std::move(header)));

  const auto started = std::chrono::steady_clock::now();
  request_trace trace;
  trace.request_id = request_id_of(header);
  trace.tracing = caller_trace(header, impl_->settings.trace.generate);
  std::optional<api_error> refused = impl_->shed(false);
  const app_config* app = nullptr;
  if (!refused) {
    app = impl_->apps.authenticate(header.header("authorization"));
    if (app == nullptr) {
      refused = api_error{error_kind::unauthorized, std::string(unauthorized_detail), std::nullopt};
    } else if (impl_->shared_limiter && app->rate_limit_per_s > 0) {
      // The shared rate limit is a Redis call: decided by a coroutine, still on the header.
      trace.app_key = app->app_key;
      return impl_->screen_shared_limit(header, std::move(trace), app, started);
    } else if (auto caller = impl_->check_caller(app, trace); !caller) {
      refused = caller.take_error();
    }
  }
  if (refused) {
    return impl_->finish(header, trace, trace.fail(std::move(*refused)), where, started);
  }
  header.admission = std::make_shared<const header_admission>(header_admission{app, trace.rate});
  return std::nullopt;
}

api_response gateway::impl::finish(const api_request& request, request_trace& trace,
                                   api_response response, route where,
                                   std::chrono::steady_clock::time_point started) {
  const auto elapsed = std::chrono::steady_clock::now() - started;
  requests_series(trace.error ? describe(*trace.error).code : 0, response.status).add();
  duration_series(where).observe(std::chrono::duration<double>(elapsed).count());

  if (trace.error == error_kind::upstream_credentials && log.enabled(log_level::warn)) {
    warn_about_credentials(trace);
  }
  if (log.enabled(log_level::info)) {
    // Never the Authorization header, the body or a token: only what is listed here. Written
    // straight into the logger's per-thread buffer: no JSON tree per request.
    const auto duration_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(elapsed).count();
    log.write_fields(log_level::info, "request", [&](json_writer& line) {
      // In alphabetical order, as the lines were when nlohmann::json (a sorted map) built them.
      const bool image = where == route::image_upload;
      line.member("app_key", trace.app_key);
      if (image) line.member("bytes_fetched", static_cast<std::uint64_t>(trace.bytes_fetched));
      if (image) line.member("cache", trace.cache.empty() ? std::string_view("none") : trace.cache);
      line.member("code", trace.error ? describe(*trace.error).code : 0);
      if (trace.error && response.status >= 500) line.member("detail", trace.error_detail);
      line.member_decimal("duration_ms", duration_ns, 6);
      if (trace.error) line.member("error", to_string(*trace.error));
      line.member("method", request.method);
      line.member("path", request.path);
      line.member("remote", request.remote_address);
      line.member("request_id", trace.request_id);
      line.member("status", response.status);
      if (!trace.tracing.empty()) line.member("trace_id", trace.tracing.trace_id);
      if (image) {
        line.member_decimal("upstream_ms", trace.upstream_time.count(), 3);
      }
    });
  }
  // Last: the request is over, its id moves into the answer.
  response.with_header("X-Request-Id", std::move(trace.request_id));
  add_rate_headers(response, trace);
  return response;
}

void gateway::client_gone(const api_request& partial) {
  impl_->requests_series(0, client_gone_status).add();
  impl_->log.write_fields(log_level::info, "client gone", [&](json_writer& line) {
    line.member("method", partial.method);  // alphabetical, as the other lines
    line.member("outcome", "client_gone");
    line.member("path", partial.path);
    line.member("remote", partial.remote_address);
    line.member("request_id", request_id_of(partial));
  });
}

api_response gateway::refuse(int http_status, const api_request& partial,
                             const std::string& reason) {
  request_trace trace;
  trace.request_id = request_id_of(partial);

  // Route, credentials and rate limit were decided on the header (screen()): what is refused
  // here is the HTTP itself, its size, or a limit of the server.
  api_response response;
  switch (http_status) {
    case 413:
      response = trace.fail(body_too_large(impl_->settings.server, partial));
      break;
    case 503:
      response = trace.fail(
          {error_kind::overloaded, server_limit_detail(impl_->settings, reason), std::nullopt});
      impl_->stats.shed.add({reason.empty() ? std::string(shed_max_connections) : reason});
      break;
    default:  // 400 malformed, 431 header block too large: the caller's parameter
      response = trace.fail({error_kind::bad_json,
                             !reason.empty()      ? reason
                             : http_status == 431 ? "request header block is too large"
                                                  : "malformed HTTP request",
                             std::nullopt});
      response.status = http_status;
      break;
  }
  response.with_header("X-Request-Id", trace.request_id);
  add_rate_headers(response, trace);
  const int code = describe(*trace.error).code;
  impl_->requests_series(code, response.status).add();
  impl_->log.write_fields(log_level::info, "request refused", [&](json_writer& line) {
    line.member("app_key", trace.app_key);  // alphabetical, as before
    line.member("code", code);
    line.member("error", to_string(*trace.error));
    line.member("method", partial.method);
    line.member("path", partial.path);
    line.member("remote", partial.remote_address);
    line.member("request_id", trace.request_id);
    line.member("status", response.status);
  });
  return response;
}

}  // namespace image_gateway
