#pragma once

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/thread_pool.hpp>
#include <memory>
#include <optional>

#include "image_gateway/api/handler_result.hpp"
#include "image_gateway/config/config.hpp"
#include "image_gateway/http_client/http_client.hpp"

namespace image_gateway {

class logger;
namespace metrics {
struct registry;
}

// The whole HTTP API of image-gateway as a function from request to response: routing, the
// v4 image endpoint, health, readiness, request ids and the per-request log line. Owns the
// pipeline's parts (auth, upload cache, OPPO client); the transports and the decode pool are
// lent by main (or a test).
class gateway {
 public:
  gateway(const config& settings, http_client& fetch_transport, http_client& oppo_transport,
          logger& log, boost::asio::thread_pool& decode_pool);
  ~gateway();

  gateway(const gateway&) = delete;
  gateway& operator=(const gateway&) = delete;

  // The answer, at once when it needs no I/O (401, 404, /healthz…), else the coroutine that
  // fetches and uploads.
  handler_result handle(api_request request);

  // The answer decided from a request's header alone, before its body is read: every route but
  // the image one answers here, and an image request is shed, refused 401 or refused 429 here
  // (in that order). nullopt: the body may be read, and handle() goes on from what was
  // decided (header.admission) without deciding it again. With a rate limit shared through
  // Redis the decision is a coroutine (it asks Redis), which refers to `header` until done.
  screen_result screen(api_request& header);

  // The answer to a request the HTTP server refuses before the handler (400, 413, 431, 503).
  // `reason`, when not empty, is the detail of a 400 (which rule the request broke), or for a
  // 503 the limit that was reached (shed_max_connections, …).
  api_response refuse(int http_status, const api_request& partial, const std::string& reason = {});

  // A client left before its request was complete or answered: logged ("client_gone") and
  // counted as requests_total{code="0",status="499"}, never as a refusal.
  void client_gone(const api_request& partial);
  static constexpr int client_gone_status = 499;  // nginx's "client closed request"

  // SIGTERM: /readyz answers 503 from now on; requests are still served normally.
  void begin_drain();
  bool draining() const;
  // The drain window is over: image requests still arriving on open connections get 503.
  void end_drain_window();

  // Client connections opened (+1) or closed (-1), for the connections gauge.
  void connections_changed(int delta);
  metrics::registry& metrics();

  struct impl;

 private:
  std::unique_ptr<impl> impl_;
};

}  // namespace image_gateway
