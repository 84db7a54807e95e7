// One HTTP/1.1 connection: read with time-outs and limits, hand the request to the handler,
// write the answer, repeat while keep-alive. Client sockets are read and written only in server/.
#include <algorithm>
#include <array>
#include <cerrno>
#include <limits>

#include <sys/socket.h>

#include "connection_deadline.hpp"
#include "image_gateway/api/multipart_form.hpp"
#include "image_gateway/log/logger.hpp"
#include "image_gateway/server/message_framing.hpp"
#include "image_gateway/server/request_target.hpp"
#include "linger.hpp"
#include "request_reader.hpp"
#include "server_state.hpp"
#include "wire_response.hpp"

namespace image_gateway {
namespace {

constexpr auto no_throw = net::as_tuple(net::use_awaitable);

// What a log line about a request says of it once its parts moved into the handler.
api_request outline_of(const api_request& request) {
  api_request outline;
  outline.method = request.method;
  outline.target = request.target;
  outline.path = request.path;
  outline.remote_address = request.remote_address;
  if (const auto id = request.header("x-request-id"); !id.empty()) {
    outline.headers.emplace_back("x-request-id", std::string(id));
  }
  return outline;
}

std::string remote_of(const tcp::socket& socket) {
  boost::system::error_code ec;
  const auto endpoint = socket.remote_endpoint(ec);
  if (ec) return "unknown";
  return endpoint_text(endpoint);
}

// The client closed or reset the connection before the request was complete.
bool is_client_gone(const beast::error_code& ec) {
  return ec == net::error::eof || ec == http::error::end_of_stream ||
         ec == http::error::partial_message || ec == net::error::connection_reset ||
         ec == net::error::broken_pipe;
}

// Watches a client while its request is handled. A reset cancels the handler (through
// `cancel`); an end of stream is a half-close (shutdown(SHUT_WR) after a whole request: RFC
// 9112 9.6 lets a client do that and wait for the answer), which does not; bytes of a pipelined
// request stay unread for the next request. One wait for readability with a plain callback: no
// coroutine and no parallel group (awaiting the handler `|| a watcher` was a fifth of the CPU
// of a fresh hit).
class disconnect_watch {
 public:
  disconnect_watch(tcp::socket& socket, net::cancellation_signal& cancel)
      : state_(std::make_shared<state>(state{&socket, &cancel})) {
    arm(state_);
  }
  ~disconnect_watch() {
    state_->over = true;  // the callback, cancelled below, touches nothing any more
    boost::system::error_code ignored;
    state_->socket->cancel(ignored);  // nothing else waits on the socket while a handler runs
  }
  disconnect_watch(const disconnect_watch&) = delete;
  disconnect_watch& operator=(const disconnect_watch&) = delete;

  bool client_gone() const { return state_->gone; }
  bool half_closed() const { return state_->half_closed; }

 private:
  struct state {
    tcp::socket* socket;
    net::cancellation_signal* cancel;
    bool over = false;
    bool gone = false;
    bool half_closed = false;
  };

  static void arm(std::shared_ptr<state> s) {
    tcp::socket& socket = *s->socket;
    socket.async_wait(tcp::socket::wait_read, [s = std::move(s)](boost::system::error_code ec) {
      if (s->over || ec) return;
      char byte;
      const ssize_t n = ::recv(s->socket->native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
      if (n > 0) return;  // a pipelined request: read once this one is answered
      if (n == 0) {
        s->half_closed = true;
        return;
      }
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
        arm(s);
        return;
      }
      s->gone = true;  // reset: the handler's work is for nobody now
      s->cancel->emit(net::cancellation_type::terminal);
    });
  }

  std::shared_ptr<state> state_;
};

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
    // Answers are first written synchronously (write_answer); a full send buffer must then say
    // would_block instead of blocking the I/O thread.
    boost::system::error_code ignored;
    socket_.non_blocking(true, ignored);
  }

  ~session() { handle_->socket = nullptr; }

  net::awaitable<void> run() {
    bool first = true;
    for (;;) {
      // Idle between requests: wait for the first byte of the next one.
      handle_->busy = false;
      if ((state_->closing_idle && !first) || half_closed_) break;
      deadline_.expire_after(first ? limits().header_timeout : limits().idle_timeout);
      if (!first && buffer_.size() == 0) {
        // Right after an answer the client has not yet had time to send its next request, and
        // Asio (1.81) starts every read with a recv(2) before it waits for readiness: that recv
        // failed with EAGAIN on every request (perf: two recvfrom calls per request, one
        // failing). So the other ready connections are served first (one trip through the
        // scheduler: deferred, a continuation on this thread's own queue, which wakes no other
        // I/O thread), then what has arrived meanwhile is read with one recv of the session's
        // own; only when nothing has does it wait (~5 % of requests under load).
        co_await net::defer(socket_.get_executor(), net::use_awaitable);
        if (!receive_now()) break;  // closed or failed
      }
      bool skipped = false;             // one empty line before a request is dropped
      if (!request_started(skipped)) {  // (no co_await in &&: GCC 12 would start it anyway)
        if (!co_await await_request_start(skipped)) break;  // closed, time-out, or drained
      }
      first = false;
      handle_->busy = true;
      if (!co_await serve_one()) break;
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

  const server_limits& limits() const { return state_->limits; }

  // Whether the connection goes on after this answer.
  bool staying(bool keep_alive) const {
    return keep_alive && !half_closed_ && !state_->closing_idle && !handle_->close_after_response;
  }

  // Reads what the socket holds now, without waiting (it is non-blocking); false when the
  // client closed or the connection failed.
  bool receive_now() {
    const auto room = buffer_.prepare(4096);
    const ssize_t n = ::recv(socket_.native_handle(), room.data(), room.size(), 0);
    if (n > 0) {
      buffer_.commit(static_cast<std::size_t>(n));
      return true;
    }
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR);
  }

  // Whether the buffer holds the start of the next request. One empty line before a request
  // line is dropped (RFC 9112 2.2: a client may send a CRLF after a POST body); `skipped` says
  // it was.
  bool request_started(bool& skipped) {
    for (;;) {
      if (buffer_.size() == 0) return false;
      const auto* bytes = static_cast<const char*>(buffer_.data().data());
      if (skipped || bytes[0] != '\r') return true;
      if (buffer_.size() < 2) return false;
      if (bytes[1] != '\n') return true;  // the parser says what is wrong with it
      buffer_.consume(2);
      skipped = true;
    }
  }

  // Reads until the next request has started; false when the connection ended first.
  net::awaitable<bool> await_request_start(bool& skipped) {
    while (!request_started(skipped)) {
      const auto [ec, n] = co_await socket_.async_read_some(buffer_.prepare(4096), no_throw);
      if (ec) co_return false;
      buffer_.commit(n);
    }
    co_return true;
  }

  // What the header block says about the exchange, settled before anything else is decided.
  struct exchange {
    unsigned version = 11;
    bool keep_alive = false;
    bool head_only = false;
    bool expects_continue = false;
  };

  // A refusal decided on the header block alone.
  struct header_refusal {
    int status;
    std::string reason;
  };

  // Reads, screens, handles and answers one request; false when the connection must end.
  // Split in steps: a coroutine's frame holds every temporary of every co_await in it, and a
  // frame over ~1 KiB is a malloc and a free per request (Asio recycles only smaller ones).
  net::awaitable<bool> serve_one() {
    // The header block, within header_timeout of its first byte (slowloris).
    request_reader& parser = parser_.emplace(request_, raw_target_);
    parser.header_limit(static_cast<std::uint32_t>(limits().max_header_bytes));
    // No body limit while the header is read: Beast would refuse a large Content-Length in the
    // middle of the header block, before the fields that decide the answer (route, auth) are
    // all in. It is checked with the whole header, and set before the body is read.
    parser.body_limit(std::numeric_limits<std::uint64_t>::max());
    deadline_.expire_after(limits().header_timeout);
    // Most requests are whole in the buffer already: parsed without another coroutine.
    beast::error_code header_ec;
    if (!parse_buffered(parser, message_part::header, header_ec)) {
      header_ec = co_await read_into(parser, message_part::header);
    }
    if (header_ec) {
      co_await refuse_unread_header(header_ec);
      co_return false;
    }
    exchange ex;
    if (auto refusal = take_header(parser, ex)) {
      co_await refuse(refusal->status, request_, std::move(refusal->reason));
      co_return false;
    }
    // Route, credentials, rate limit: decided on the header, before a body byte is read or
    // invited. A refused body is skipped when small and declared, else the connection closes.
    if (state_->hooks.screen) {
      screen_result screened = state_->hooks.screen(request_);
      if (auto* pending = std::get_if<net::awaitable<std::optional<api_response>>>(&screened)) {
        // A shared rate limit asks Redis (bounded by its own timeouts): the header deadline
        // still runs, and no body byte is read or invited meanwhile.
        screened = co_await std::move(*pending);
      }
      if (auto& answer = std::get<std::optional<api_response>>(screened)) {
        switch (answer_buffered_refusal(*answer, ex)) {
          case refusal_state::stay:
            co_return true;
          case refusal_state::close:
            co_return false;
          case refusal_state::send_rest:
            co_return co_await send_rest(wire_, unsent_from_);
          case refusal_state::not_buffered:
            break;
        }
        co_return co_await answer_on_header(std::move(*answer), ex);
      }
    }
    co_return co_await serve_admitted(ex);
  }

  // The header block could not be read: answered when there is something to say.
  net::awaitable<void> refuse_unread_header(beast::error_code ec) {
    if (ec == http::error::header_limit) {
      co_await refuse(431, unread(),
                      "request header block is larger than " +
                          std::to_string(limits().max_header_bytes) + " bytes");
    } else if (deadline_.timed_out()) {
      // slowloris: closed without an answer
    } else if (is_client_gone(ec)) {
      client_gone(unread());
    } else {
      co_await refuse(400, unread(), "malformed HTTP request: " + ec.message());
    }
  }

  // Fills request_ and `ex` from the parsed header block; a refusal when its target or its
  // framing cannot be served (request_ then holds what may be logged of it).
  std::optional<header_refusal> take_header(const request_reader& parser, exchange& ex) {
    auto origin = origin_form(parser.target());
    if (!origin) {
      std::string method = std::move(request_.method);
      request_ = unread();  // the target is neither logged nor repeated
      request_.method = std::move(method);
      return header_refusal{400, std::string(userinfo_in_target_detail)};
    }
    request_.target = std::move(origin->target);
    request_.path = std::move(origin->path);
    request_.remote_address = remote_;
    request_.admission.reset();
    // Where this request ends decides what the next bytes are: settled before anything else.
    if (auto problem = framing_problem(parser.version(), request_.headers)) {
      return header_refusal{400, std::move(*problem)};
    }
    ex.keep_alive = parser.keep_alive();
    ex.version = parser.version();
    ex.head_only = parser.method() == http::verb::head;
    // Never to an HTTP/1.0 client, which does not know the interim answer (RFC 9110 15.2).
    ex.expects_continue =
        ex.version >= 11 && beast::iequals(request_.header("expect"), "100-continue");
    return std::nullopt;
  }

  enum class refusal_state { stay, close, send_rest, not_buffered };

  // The common refusal without a coroutine: the connection stays and the small body to skip is
  // in the buffer already (a client's request usually arrives in one piece). The body is
  // dropped and the answer sent; send_rest when the socket did not take all of it (the rest is
  // in wire_ from unsent_from_). not_buffered, with nothing done, in every other case.
  refusal_state answer_buffered_refusal(api_response& answer, const exchange& ex) {
    const std::uint64_t declared = parser_->content_length().value_or(0);
    const bool skip =
        !ex.expects_continue && !parser_->chunked() && declared <= max_skipped_body_bytes;
    if (!skip || !staying(ex.keep_alive) || buffer_.size() < declared) {
      return refusal_state::not_buffered;
    }
    buffer_.consume(static_cast<std::size_t>(declared));
    switch (send_now(std::move(answer), ex.version, true, ex.head_only, wire_, unsent_from_)) {
      case send_state::done:
        return refusal_state::stay;
      case send_state::failed:
        return refusal_state::close;
      case send_state::partial:
        break;
    }
    return refusal_state::send_rest;
  }

  // Answers a request refused on its header; its body, when small and declared, is skipped so
  // that the connection can go on.
  net::awaitable<bool> answer_on_header(api_response answer, const exchange& ex) {
    const std::uint64_t declared = parser_->content_length().value_or(0);
    const bool skip =
        !ex.expects_continue && !parser_->chunked() && declared <= max_skipped_body_bytes;
    const bool stay = skip && staying(ex.keep_alive);
    std::size_t sent = 0;
    const send_state state =
        send_now(std::move(answer), ex.version, stay, ex.head_only, wire_, sent);
    if (state == send_state::failed) co_return false;
    if (state == send_state::partial) {  // (not `&&`: GCC 12 would make the coroutine anyway)
      if (!co_await send_rest(wire_, sent)) co_return false;
    }
    if (!stay) {
      refused_ = !skip || declared > 0;  // a body may be on its way: drain before closing
      co_return false;
    }
    // A small body has mostly arrived with its header: dropped from the buffer at once.
    const std::uint64_t buffered = std::min<std::uint64_t>(buffer_.size(), declared);
    buffer_.consume(static_cast<std::size_t>(buffered));
    // (An if, not `||`: GCC 12 makes the skip_body coroutine even when the left side is true.)
    if (buffered == declared) co_return true;
    co_return co_await skip_body(declared - buffered);
  }

  // Reads the body of an admitted request, hands it to the handler and writes its answer.
  net::awaitable<bool> serve_admitted(const exchange& ex) {
    request_reader& parser = *parser_;
    const server_limits& limits = this->limits();
    // Image bytes in a multipart/form-data body get their own, larger limit.
    const std::size_t body_limit = is_multipart_form_data(request_.header("content-type"))
                                       ? limits.max_body_multipart_bytes
                                       : limits.max_body_bytes;
    if (parser.content_length() && *parser.content_length() > body_limit) {
      co_await refuse(413, request_);  // refused before reading the body
      co_return false;
    }
    parser.body_limit(body_limit);  // a chunked body is counted as it is read
    // The body's memory, from now until its answer is written: a chunked body may reach its
    // limit, so that much is set aside for it.
    body_budget_share budget(state_->buffered_body_bytes);
    if (!budget.take(parser.content_length().value_or(parser.chunked() ? body_limit : 0),
                     limits.max_buffered_body_bytes)) {
      co_await refuse(503, request_, std::string(shed_max_buffered_body_bytes));
      co_return false;
    }
    if (ex.expects_continue) {
      // curl waits a second for this before sending a body over 1 KiB.
      static constexpr std::string_view continue_line = "HTTP/1.1 100 Continue\r\n\r\n";
      deadline_.expire_after(limits.write_timeout);
      const auto [ec, n] = co_await net::async_write(socket_, net::buffer(continue_line), no_throw);
      if (ec) co_return false;
    }

    deadline_.expire_after(limits.body_timeout);
    if (const auto ec = co_await read_into(parser, message_part::whole); ec) {
      if (ec == http::error::body_limit) {
        co_await refuse(413, request_);
      } else if (deadline_.timed_out()) {
        // too slow: closed without an answer, as a slow header is
      } else if (is_client_gone(ec)) {
        client_gone(request_);
      } else {
        co_await refuse(400, request_, "malformed HTTP request body: " + ec.message());
      }
      co_return false;
    }

    const api_request outline = state_->hooks.client_gone ? outline_of(request_) : api_request{};
    handler_result handled = state_->hooks.handle(std::move(request_));
    if (auto* pending = std::get_if<net::awaitable<api_response>>(&handled)) {
      // The handler may take the whole request deadline; a client that leaves cancels it.
      deadline_.expire_never();
      disconnect_watch watch(socket_, handle_->cancel);
      std::exception_ptr failure;
      try {
        handled = co_await std::move(*pending);
      } catch (...) {
        failure = std::current_exception();  // rethrown below unless the client left
      }
      if (watch.client_gone()) {
        client_gone(outline);
        co_return false;
      }
      if (failure) std::rethrow_exception(failure);
      if (watch.half_closed()) half_closed_ = true;
    }
    const bool stay = staying(ex.keep_alive);
    if (!co_await write_answer(std::get<api_response>(std::move(handled)), ex.version, stay,
                               ex.head_only)) {
      co_return false;
    }
    co_return stay;
  }

  // Writes an answer; for a HEAD request its header block only (RFC 9110 9.3.2), which says the
  // Content-Length a GET would have had. The socket is non-blocking: most answers fit its send
  // buffer and go out in this one call, with no trip through the scheduler (and no coroutine:
  // send_now); what does not is written asynchronously under write_timeout (send_rest).
  net::awaitable<bool> write_answer(api_response&& answer, unsigned version, bool stay,
                                    bool head_only) {
    std::size_t sent = 0;
    switch (send_now(std::move(answer), version, stay, head_only, wire_, sent)) {
      case send_state::done:
        co_return true;
      case send_state::failed:
        co_return false;
      case send_state::partial:
        break;
    }
    co_return co_await send_rest(wire_, sent);
  }

  enum class send_state { done, partial, failed };

  // The answer's wire form into `response`, and as much of it as the socket takes now into
  // `sent`.
  send_state send_now(api_response&& answer, unsigned version, bool stay, bool head_only,
                      wire_response& response, std::size_t& sent) {
    to_wire_response(std::move(answer), version, stay, response);
    if (head_only) response.body.clear();
    // A small answer is sent as one piece with send(2): less kernel work than the gather write
    // (sendmsg copies a message header in first), and MSG_NOSIGNAL makes a closed peer EPIPE.
    if (response.body.size() <= small_answer_bytes) {
      response.head += response.body;
      response.body.clear();
    }
    const auto buffers = response.buffers();
    const std::size_t total = net::buffer_size(buffers);
    sent = 0;
    if (response.body.empty()) {
      const ssize_t n =
          ::send(socket_.native_handle(), response.head.data(), response.head.size(), MSG_NOSIGNAL);
      if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        return send_state::failed;
      }
      sent = n > 0 ? static_cast<std::size_t>(n) : 0;
    } else {
      beast::error_code ec;
      sent = socket_.write_some(buffers, ec);
      if (ec && ec != net::error::would_block && ec != net::error::try_again) {
        return send_state::failed;
      }
    }
    if (sent != total) return send_state::partial;
    release_large(response);
    return send_state::done;
  }

  // An idle connection keeps a small answer's room, not a large one's.
  static void release_large(wire_response& response) {
    constexpr std::size_t kept_bytes = 4096;
    if (response.head.capacity() > kept_bytes) std::string().swap(response.head);
    if (response.body.capacity() > kept_bytes) std::string().swap(response.body);
  }

  // The rest of an answer the socket did not take at once.
  net::awaitable<bool> send_rest(wire_response& response, std::size_t sent) {
    beast::buffers_suffix<std::array<net::const_buffer, 2>> rest(response.buffers());
    rest.consume(sent);
    deadline_.expire_after(limits().write_timeout);
    const auto [ec, n] = co_await net::async_write(socket_, rest, no_throw);
    release_large(response);
    co_return !ec;
  }

  // Reads and drops `length` body bytes of a refused request, a piece at a time: nothing of it is
  // kept. False when the connection ended or body_timeout passed first.
  net::awaitable<bool> skip_body(std::uint64_t length) {
    deadline_.expire_after(limits().body_timeout);
    while (length > 0) {
      if (buffer_.size() == 0) {
        const auto [ec, n] = co_await socket_.async_read_some(
            buffer_.prepare(static_cast<std::size_t>(std::min<std::uint64_t>(length, 4096))),
            no_throw);
        if (ec) co_return false;
        buffer_.commit(n);
      }
      const std::size_t dropped =
          static_cast<std::size_t>(std::min<std::uint64_t>(buffer_.size(), length));
      buffer_.consume(dropped);
      length -= dropped;
    }
    co_return true;
  }

  void client_gone(const api_request& partial) const {
    if (state_->hooks.client_gone) state_->hooks.client_gone(partial);
  }

  // Feeds the parser what the buffer holds: true when `part` is complete or the bytes are
  // malformed (`ec`), false when more must be read.
  bool parse_buffered(request_reader& parser, message_part part, beast::error_code& ec) {
    for (;;) {
      if (part == message_part::header ? parser.is_header_done() : parser.is_done()) return true;
      if (buffer_.size() == 0) return false;
      const std::size_t used = parser.put(buffer_.data(), ec);
      buffer_.consume(used);
      if (ec == http::error::need_more) {
        ec = {};
        return false;
      }
      if (ec) return true;
      if (used == 0) return false;
    }
  }

  // Feeds the parser from the buffer and reads from the socket only when it needs more bytes.
  // (Beast's async_read_header and async_read post their completion even when the buffer holds
  // the whole request already: two needless trips through the scheduler per request.) Errors
  // as Beast's: end_of_stream when the client closed before a byte of this request.
  net::awaitable<beast::error_code> read_into(request_reader& parser, message_part part) {
    const std::size_t chunk = part == message_part::header ? 4096 : 16384;
    for (;;) {
      beast::error_code ec;
      if (parse_buffered(parser, part, ec)) co_return ec;
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
    co_await write_answer(std::move(answer), 11, false, partial.method == "HEAD");
    refused_ = true;
  }

  std::shared_ptr<server_state> state_;
  tcp::socket socket_;
  connection_deadline deadline_;
  std::shared_ptr<session_handle> handle_;
  beast::flat_buffer buffer_;
  std::optional<request_reader> parser_;  // the request being read
  api_request request_;                   // what the handlers see of it, filled by parser_
  std::string raw_target_;                // its request-target as sent
  std::string remote_;
  // The answer being written (its strings' room reused from answer to answer), and how much
  // of it went out when the socket did not take it at once.
  wire_response wire_;
  std::size_t unsent_from_ = 0;
  bool refused_ = false;      // the server answered a refusal; drain before closing
  bool half_closed_ = false;  // the client shut its sending side down while it was served
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
