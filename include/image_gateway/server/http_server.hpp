#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

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
  // All bodies of admitted requests in memory at once (declared Content-Length, or the body
  // limit for a chunked one); a request that would go over it is answered 503.
  std::uint64_t max_buffered_body_bytes = 64ULL * 1024 * 1024;
  std::chrono::milliseconds header_timeout{10000};  // whole header block
  std::chrono::milliseconds body_timeout{10000};    // whole body once the header is in
  std::chrono::milliseconds idle_timeout{75000};    // keep-alive between requests
  std::chrono::milliseconds write_timeout{10000};
  // Threads that run the io_context; exactly 1 lets connections skip their strands.
  int io_threads = 0;
  // SO_SNDBUF of accepted connections; 0 keeps the kernel's, which grows with the connection
  // (loopback: to 4 MiB). Set small only where a socket must take answers in part (tests).
  int socket_send_buffer_bytes = 0;
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
    // Called with the header alone, before the body is read or invited (no 100 Continue): the
    // answer when the request is decided on it (route, credentials, rate limit); nullopt to read
    // the body and call `handle` with the same request (which the hook may have annotated).
    // A refused request's body is not read: the connection closes after the answer unless the
    // body is declared and at most max_skipped_body_bytes, which is then skipped unbuffered.
    // The decision may be a coroutine (screen_result), awaited first; `header` outlives it.
    // Empty: every request is read whole.
    std::function<screen_result(api_request& header)> screen;
    // The answer to a request the server refuses by itself, before the handler: 400 malformed,
    // 413 body over its limit (max_body_bytes, or max_body_multipart_bytes for a
    // multipart/form-data body), 431 header block too large, 503 at a limit. `partial` holds
    // what was read of the request (possibly nothing); `reason` says what was wrong when the
    // status alone does not: which rule a 400 broke, and for a 503 which limit was reached
    // (one of the shed_* names of http_types.hpp). A bare status when empty.
    std::function<api_response(int http_status, const api_request& partial,
                               const std::string& reason)>
        refuse;
    // A client that went away before its request was complete or answered (closed or reset
    // mid-header, mid-body, or while its request was handled): what was read of it (possibly
    // only where it came from). Not a refusal: nothing is answered. May be empty.
    std::function<void(const api_request& partial)> client_gone;
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

// A refused request whose declared body is at most this is skipped (read and dropped, never
// held) so that the connection can go on; a larger or chunked one closes the connection.
inline constexpr std::uint64_t max_skipped_body_bytes = 64 * 1024;

// Splits "host:port" / "[v6]:port"; throws std::runtime_error when malformed.
std::pair<std::string, unsigned short> split_host_port(const std::string& address);

}  // namespace image_gateway
