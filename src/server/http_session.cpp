// One HTTP/1.1 connection: read with time-outs and limits, hand the request to the handler,
// write the answer, repeat while keep-alive. Client sockets are read and written only in server/.
#include <array>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <limits>

#include "connection_deadline.hpp"
#include "image_gateway/api/multipart_form.hpp"
#include "image_gateway/log/logger.hpp"
#include "image_gateway/server/message_framing.hpp"
#include "linger.hpp"
#include "server_state.hpp"
#include "wire_response.hpp"

namespace image_gateway {
namespace {

using namespace boost::asio::experimental::awaitable_operators;
constexpr auto no_throw = net::as_tuple(net::use_awaitable);

using request_parser = http::request_parser<http::string_body>;

api_request to_api_request(const http::request<http::string_body>& message, std::string remote) {
  api_request request;
  request.method = std::string(message.method_string());
  request.target = std::string(message.target());
  request.path = request.target.substr(0, request.target.find('?'));
  request.headers.reserve(8);
  for (const auto& field : message) {
    std::string name(field.name_string());
    for (char& c : name) {
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');  // ASCII, no locale lookup
    }
    request.headers.emplace_back(std::move(name), std::string(field.value()));
  }
  request.remote_address = std::move(remote);
  return request;
}

std::string remote_of(const tcp::socket& socket) {
  boost::system::error_code ec;
  const auto endpoint = socket.remote_endpoint(ec);
  if (ec) return "unknown";
  return endpoint_text(endpoint);
}

// Resolves when the client goes away while its request is being handled. Data that arrives
// meanwhile (a pipelined request) stays in the buffer; then this simply waits to be cancelled.
net::awaitable<void> watch_for_disconnect(tcp::socket& socket, beast::flat_buffer& buffer) {
  const auto [ec, n] = co_await socket.async_read_some(buffer.prepare(4096), no_throw);
  if (ec) co_return;  // gone: the handler is cancelled by the || below
  buffer.commit(n);
  net::steady_timer forever(co_await net::this_coro::executor,
                            net::steady_timer::time_point::max());
  // Ends when cancelled because the handler finished; the caller ignores this branch then.
  co_await forever.async_wait(no_throw);
}

class session {
 public:
  session(std::shared_ptr<server_state> state, tcp::socket socket,
          std::shared_ptr<session_handle> handle)
      : state_(std::move(state)),
        socket_(std::move(socket)),
        deadline_(socket_),
        handle_(std::move(handle)) {
    remote_ = remote_of(socket_);
    handle_->socket = &socket_;
  }

  ~session() { handle_->socket = nullptr; }

  net::awaitable<void> run() {
    const server_limits& limits = state_->limits;
    bool first = true;
    for (;;) {
      // Idle between requests: wait for the first byte of the next one.
      handle_->busy = false;
      if (state_->closing_idle && !first) break;
      if (buffer_.size() == 0) {
        deadline_.expire_after(first ? limits.header_timeout : limits.idle_timeout);
        const auto [ec, n] = co_await socket_.async_read_some(buffer_.prepare(4096), no_throw);
        if (ec) break;  // closed, time-out, or drained
        buffer_.commit(n);
      }
      first = false;
      handle_->busy = true;

      // The header block, within header_timeout of its first byte (slowloris).
      request_parser parser;
      parser.header_limit(static_cast<std::uint32_t>(limits.max_header_bytes));
      // No body limit while the header is read: Beast would refuse a large Content-Length in the
      // middle of the header block, before the fields that decide the answer (route, auth) are
      // all in. It is checked below, with the whole header, and set before the body is read.
      parser.body_limit(std::numeric_limits<std::uint64_t>::max());
      deadline_.expire_after(limits.header_timeout);
      if (const auto ec = co_await read_into(parser, message_part::header); ec) {
        if (ec == http::error::header_limit)
          co_await refuse(431, unread());
        else if (!deadline_.timed_out() && ec != http::error::end_of_stream &&
                 ec != net::error::eof && ec != net::error::connection_reset) {
          co_await refuse(400, unread(), "malformed HTTP request: " + ec.message());
        }
        break;
      }

      const auto& header = parser.get();
      api_request request = to_api_request(header, remote_);
      // Where this request ends decides what the next bytes are: settled before anything else.
      if (auto problem = framing_problem(header.version(), request.headers)) {
        co_await refuse(400, request, *problem);
        break;
      }
      // Image bytes in a multipart/form-data body get their own, larger limit (SPEC §2).
      const std::size_t body_limit = is_multipart_form_data(request.header("content-type"))
                                         ? limits.max_body_multipart_bytes
                                         : limits.max_body_bytes;
      if (parser.content_length() && *parser.content_length() > body_limit) {
        co_await refuse(413, request);  // refused before reading the body
        break;
      }
      parser.body_limit(body_limit);  // a chunked body is counted as it is read
      // Never to an HTTP/1.0 client, which does not know the interim answer (RFC 9110 15.2).
      if (header.version() >= 11 && beast::iequals(header[http::field::expect], "100-continue")) {
        // curl waits a second for this before sending a body over 1 KiB.
        static constexpr std::string_view continue_line = "HTTP/1.1 100 Continue\r\n\r\n";
        deadline_.expire_after(limits.write_timeout);
        const auto [ec, n] =
            co_await net::async_write(socket_, net::buffer(continue_line), no_throw);
        if (ec) break;
      }

      deadline_.expire_after(limits.body_timeout);
      if (const auto ec = co_await read_into(parser, message_part::whole); ec) {
        if (ec == http::error::body_limit)
          co_await refuse(413, request);
        else if (!deadline_.timed_out() && ec != net::error::eof &&
                 ec != http::error::end_of_stream) {
          co_await refuse(400, request, "malformed HTTP request body: " + ec.message());
        }
        break;
      }

      const bool keep_alive = header.keep_alive();
      const unsigned version = header.version();
      request.body = std::move(parser.release().body());

      handler_result handled = state_->hooks.handle(std::move(request));
      if (auto* pending = std::get_if<net::awaitable<api_response>>(&handled)) {
        // The handler may take the whole request deadline; a client that leaves cancels it.
        deadline_.expire_never();
        auto outcome = co_await (std::move(*pending) || watch_for_disconnect(socket_, buffer_));
        if (outcome.index() != 0) break;  // the client went away
        handled = std::get<0>(std::move(outcome));
      }

      const bool stay = keep_alive && !state_->closing_idle && !handle_->close_after_response;
      const auto response =
          to_wire_response(std::get<api_response>(std::move(handled)), version, stay);
      deadline_.expire_after(limits.write_timeout);
      if (const auto [ec, n] = co_await net::async_write(socket_, response.buffers(), no_throw);
          ec) {
        break;
      }
      if (!stay) break;
    }
    handle_->busy = false;
    beast::error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_send, ignored);
    // A refused client may still be sending: drop it for a moment so no reset eats the answer.
    if (refused_)
      co_await drop_input_before_close(socket_, deadline_, std::chrono::milliseconds(500),
                                       256 * 1024);
    socket_.close(ignored);
  }

 private:
  enum class message_part { header, whole };

  // Feeds the parser from the buffer and reads from the socket only when it needs more bytes.
  // (Beast's async_read_header and async_read post their completion even when the buffer holds
  // the whole request already: two needless trips through the scheduler per request.) Errors
  // as Beast's: end_of_stream when the client closed before a byte of this request.
  net::awaitable<beast::error_code> read_into(request_parser& parser, message_part part) {
    const std::size_t chunk = part == message_part::header ? 4096 : 16384;
    for (;;) {
      if (part == message_part::header ? parser.is_header_done() : parser.is_done()) {
        co_return beast::error_code{};
      }
      beast::error_code ec;
      if (buffer_.size() > 0) {
        const std::size_t used = parser.put(buffer_.data(), ec);
        buffer_.consume(used);
        if (!ec && used > 0) continue;
        if (ec && ec != http::error::need_more) co_return ec;
      }
      const auto [read_ec, n] = co_await socket_.async_read_some(buffer_.prepare(chunk), no_throw);
      if (read_ec == net::error::eof) {
        if (!parser.got_some()) co_return http::error::end_of_stream;
        parser.put_eof(ec);  // a request cut short: partial_message
        if (ec) co_return ec;
        continue;
      }
      if (read_ec) co_return read_ec;
      buffer_.commit(n);
    }
  }

  // What is known of a request whose header block could not be read: where it came from.
  api_request unread() const {
    api_request nothing;
    nothing.remote_address = remote_;
    return nothing;
  }

  // Answers a request the server refuses itself, then the connection closes. `reason` is the
  // detail when the status alone does not say what was wrong.
  net::awaitable<void> refuse(int status, const api_request& partial, std::string reason = {}) {
    api_response answer;
    if (state_->hooks.refuse) {
      answer = state_->hooks.refuse(status, partial, reason);
    } else {
      answer.status = status;
      answer.content_type.clear();
    }
    const auto response = to_wire_response(std::move(answer), 11, false);
    deadline_.expire_after(state_->limits.write_timeout);
    co_await net::async_write(socket_, response.buffers(), no_throw);
    refused_ = true;
  }

  std::shared_ptr<server_state> state_;
  tcp::socket socket_;
  connection_deadline deadline_;
  std::shared_ptr<session_handle> handle_;
  beast::flat_buffer buffer_;
  std::string remote_;
  bool refused_ = false;  // the server answered a refusal; drain before closing
};

}  // namespace

net::awaitable<void> run_session(std::shared_ptr<server_state> state, tcp::socket socket,
                                 std::shared_ptr<session_handle> handle) {
  try {
    session s(state, std::move(socket), handle);
    co_await s.run();
  } catch (const std::exception& error) {
    if (state->log != nullptr) {
      state->log->write(log_level::error, std::string("connection failed: ") + error.what());
    }
  }
}

}  // namespace image_gateway
