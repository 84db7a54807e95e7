#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "image_gateway/api/handler_result.hpp"

namespace boost::asio {
class io_context;
}

namespace image_gateway {

class logger;

struct server_limits {
  std::size_t max_connections = 10000;
  std::size_t max_header_bytes = 8 * 1024;
  std::size_t max_body_bytes = 16384;
  // The body limit when the Content-Type is multipart/form-data (image bytes in the body).
  std::size_t max_body_multipart_bytes = 1200000;
  std::chrono::milliseconds header_timeout{10000};  // whole header block
  std::chrono::milliseconds body_timeout{10000};    // whole body once the header is in
  std::chrono::milliseconds idle_timeout{75000};    // keep-alive between requests
  std::chrono::milliseconds write_timeout{10000};
  // Threads that run the io_context; exactly 1 lets connections skip their strands.
  int io_threads = 0;
};

// Turns a request into a response, or into a coroutine that makes one; runs on the
// connection's strand. A handler that returns awaitable<api_response> converts to it.
using request_handler = std::function<handler_result(api_request)>;

// A Beast HTTP/1.1 server: accepts, enforces the limits above, and hands complete requests to
// the handler. Beast types stay in server/.
class http_server {
 public:
  struct hooks {
    request_handler handle;
    // The answer to a request the server refuses by itself, before the handler: 400 malformed,
    // 413 body over its limit (max_body_bytes, or max_body_multipart_bytes for a
    // multipart/form-data body), 431 header block too large, 503 connection cap. `partial`
    // holds what was read of the request (possibly nothing); `reason` says what was wrong when
    // the status alone does not (which framing rule a 400 broke). A bare status when empty.
    std::function<api_response(int http_status, const api_request& partial,
                               const std::string& reason)>
        refuse;
    // Called when a connection opens or closes (metrics); may be empty.
    std::function<void(int delta)> connections_changed;
  };

  http_server(boost::asio::io_context& io, std::string listen_address, server_limits limits,
              hooks handlers, logger* log = nullptr);
  ~http_server();

  // Binds and starts accepting; throws std::runtime_error with the reason when it cannot bind.
  void start();
  // "127.0.0.1:40123": the address actually bound (port 0 resolved).
  std::string local_address() const;
  unsigned short local_port() const;

  // Stops accepting new connections; open ones keep being served.
  void stop_accepting();
  // Closes connections that are idle between requests, and makes busy ones close after their
  // current response.
  void close_idle_connections();
  std::size_t open_connections() const;

 private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

// Splits "host:port" / "[v6]:port"; throws std::runtime_error when malformed.
std::pair<std::string, unsigned short> split_host_port(const std::string& address);

}  // namespace image_gateway
