// The listener: binds, accepts each connection onto its own strand (or the one thread), refuses
// fast at the connection cap and when out of file descriptors, and drains.
#include "image_gateway/server/http_server.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <stdexcept>

#include "connection_deadline.hpp"
#include "image_gateway/log/logger.hpp"
#include "linger.hpp"
#include "server_state.hpp"
#include "wire_response.hpp"

namespace image_gateway {

std::pair<std::string, unsigned short> split_host_port(const std::string& address) {
  std::string host;
  std::string port;
  if (!address.empty() && address.front() == '[') {
    const auto close = address.find(']');
    if (close == std::string::npos || close + 1 >= address.size() || address[close + 1] != ':') {
      throw std::runtime_error("listen address '" + address + "' is not [v6]:port");
    }
    host = address.substr(1, close - 1);
    port = address.substr(close + 2);
  } else {
    const auto colon = address.rfind(':');
    if (colon == std::string::npos) {
      throw std::runtime_error("listen address '" + address + "' is not host:port");
    }
    host = address.substr(0, colon);
    port = address.substr(colon + 1);
  }
  if (port.empty() || port.size() > 5 ||
      port.find_first_not_of("0123456789") != std::string::npos || std::stoul(port) > 65535) {
    throw std::runtime_error("listen address '" + address + "' has a bad port");
  }
  return {host, static_cast<unsigned short>(std::stoul(port))};
}

// A descriptor held open (on /dev/null) only to be given up at EMFILE, so that one more client
// can be accepted and told 503 instead of waiting in the backlog.
class spare_descriptor {
 public:
  spare_descriptor() { take(); }
  ~spare_descriptor() { reset(); }
  spare_descriptor(const spare_descriptor&) = delete;
  spare_descriptor& operator=(const spare_descriptor&) = delete;
  void take() {
    if (fd_ < 0) fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  }
  void reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

struct http_server::impl : std::enable_shared_from_this<http_server::impl> {
  net::io_context& io;
  std::string listen_address;
  std::shared_ptr<server_state> state = std::make_shared<server_state>();
  tcp::acceptor acceptor;
  tcp::endpoint bound;
  spare_descriptor spare;
  bool short_of_descriptors = false;  // the last accept failed for want of a descriptor
  // How long the accept loop waits after answering one client at EMFILE: a few answers a
  // second while descriptors are out, no spinning.
  static constexpr std::chrono::milliseconds descriptor_pause{50};

  impl(net::io_context& context, std::string address)
      : io(context), listen_address(std::move(address)), acceptor(net::make_strand(context)) {}

  // Where a new connection runs. When one thread runs the io_context, its handlers never run
  // concurrently, so a strand per connection only adds a lock, a queue and a type-erased hop to
  // every completion (~10 % of the CPU of a small answer). Otherwise each gets its own strand.
  net::any_io_executor connection_executor() const {
    if (state->limits.io_threads == 1) return io.get_executor();
    return net::make_strand(io);
  }

  net::awaitable<void> accept_loop() {
    constexpr auto no_throw = net::as_tuple(net::use_awaitable);
    for (;;) {
      auto executor = connection_executor();
      auto [ec, socket] = co_await acceptor.async_accept(executor, no_throw);
      if (ec == net::error::operation_aborted || !acceptor.is_open()) co_return;
      if (ec) {
        // Out of descriptors the listening socket stays readable: accepting again at once
        // would spin. Answer one waiting client with the spare descriptor, then pause.
        const bool out_of_descriptors = ec == net::error::no_descriptors ||
                                        ec == boost::system::errc::too_many_files_open_in_system;
        if (out_of_descriptors) answer_one_without_descriptors();
        net::steady_timer pause(acceptor.get_executor());
        pause.expires_after(out_of_descriptors ? descriptor_pause : std::chrono::milliseconds(10));
        co_await pause.async_wait(net::as_tuple(net::use_awaitable));
        continue;
      }
      short_of_descriptors = false;
      if (state->open_connections.load() >= state->limits.max_connections) {
        net::co_spawn(executor, refuse_over_capacity(std::move(socket)), net::detached);
        continue;
      }
      auto handle = std::make_shared<session_handle>();
      handle->executor = executor;
      {
        std::lock_guard lock(state->sessions_mutex);
        state->sessions.insert(handle);
      }
      ++state->open_connections;
      if (state->hooks.connections_changed) state->hooks.connections_changed(+1);
      net::co_spawn(executor, run_session(state, std::move(socket), handle),
                    net::bind_cancellation_slot(handle->cancel.slot(),
                                                [state = state, handle](std::exception_ptr) {
                                                  {
                                                    std::lock_guard lock(state->sessions_mutex);
                                                    state->sessions.erase(handle);
                                                  }
                                                  --state->open_connections;
                                                  if (state->hooks.connections_changed)
                                                    state->hooks.connections_changed(-1);
                                                }));
    }
  }

  // The answer to a client refused at a limit: 503 with Retry-After.
  api_response shed_answer(std::string_view limit) const {
    api_response answer;
    if (state->hooks.refuse) {
      answer = state->hooks.refuse(503, api_request{}, std::string(limit));
    } else {
      answer.status = 503;
      answer.content_type.clear();
    }
    return answer;
  }

  // At EMFILE/ENFILE: the spare descriptor is given up for a moment to accept one waiting
  // client, answer it 503 and close it (what it already sent is read first, so that the close
  // is not a reset that could destroy the answer), then taken again. Synchronous and
  // non-blocking: the answer fits a fresh socket's send buffer.
  void answer_one_without_descriptors() {
    if (!short_of_descriptors && state->log != nullptr) {
      state->log->write(log_level::warn,
                        "out of file descriptors: answering new connections 503 until some free up",
                        {{"open_connections", state->open_connections.load()}});
    }
    short_of_descriptors = true;
    spare.reset();
    const int client =
        ::accept4(acceptor.native_handle(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (client >= 0) {
      char sink[4096];
      for (int i = 0; i < 4 && ::recv(client, sink, sizeof sink, MSG_DONTWAIT) > 0; ++i) {
      }
      const wire_response response =
          to_wire_response(shed_answer(shed_file_descriptors), 11, false);
      const std::string bytes = response.head + response.body;
      [[maybe_unused]] const auto sent = ::send(client, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      ::shutdown(client, SHUT_WR);
      ::close(client);
    }
    spare.take();
  }

  // Over the connection cap: one short 503 and close, instead of queueing the client.
  net::awaitable<void> refuse_over_capacity(tcp::socket socket) {
    const wire_response response = to_wire_response(shed_answer(shed_max_connections), 11, false);
    connection_deadline deadline(socket);
    deadline.expire_after(std::chrono::seconds(1));
    const auto [ec, n] =
        co_await net::async_write(socket, response.buffers(), net::as_tuple(net::use_awaitable));
    beast::error_code ignored;
    socket.shutdown(tcp::socket::shutdown_send, ignored);
    // The client's request is unread: closing now would reset the connection, and a reset can
    // destroy the 503 before the client reads it.
    if (!ec) {
      co_await drop_input_before_close(socket, deadline, std::chrono::milliseconds(500), 64 * 1024);
    }
    socket.close(ignored);
  }
};

http_server::http_server(net::io_context& io, std::string listen_address, server_limits limits,
                         hooks handlers, logger* log)
    : impl_(std::make_shared<impl>(io, std::move(listen_address))) {
  impl_->state->limits = limits;
  impl_->state->hooks = std::move(handlers);
  impl_->state->log = log;
}

http_server::~http_server() { stop_accepting(); }

void http_server::start() {
  const auto [host, port] = split_host_port(impl_->listen_address);
  boost::system::error_code ec;
  const auto address = net::ip::make_address(host.empty() ? "0.0.0.0" : host, ec);
  if (ec) throw std::runtime_error("listen address '" + host + "' is not an IP address");
  const tcp::endpoint endpoint(address, port);
  auto& acceptor = impl_->acceptor;
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(net::socket_base::reuse_address(true), ec);
  // Accepted connections inherit the listener's send buffer.
  const int send_buffer = impl_->state->limits.socket_send_buffer_bytes;
  if (!ec && send_buffer > 0) {
    acceptor.set_option(net::socket_base::send_buffer_size(send_buffer), ec);
  }
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    throw std::runtime_error("cannot listen on " + impl_->listen_address + ": " + ec.message());
  }
  impl_->bound = acceptor.local_endpoint();
  net::co_spawn(acceptor.get_executor(), impl_->accept_loop(), net::detached);
}

std::string endpoint_text(const tcp::endpoint& endpoint) {
  const auto address = endpoint.address();
  // Appended piece by piece: GCC 12 warns falsely (-Wrestrict) on "[" + string + "]".
  std::string text;
  if (address.is_v6()) {
    text.append("[").append(address.to_string()).append("]");
  } else {
    text = address.to_string();
  }
  return text.append(":").append(std::to_string(endpoint.port()));
}

std::string http_server::local_address() const { return endpoint_text(impl_->bound); }

unsigned short http_server::local_port() const { return impl_->bound.port(); }

void http_server::stop_accepting() {
  auto self = impl_;
  net::dispatch(self->acceptor.get_executor(), [self] {
    boost::system::error_code ignored;
    self->acceptor.close(ignored);
  });
}

void http_server::close_idle_connections() {
  auto state = impl_->state;
  state->closing_idle = true;
  std::lock_guard lock(state->sessions_mutex);
  for (const auto& handle : state->sessions) {
    net::dispatch(handle->executor, [handle] {
      if (handle->socket == nullptr) return;
      if (handle->busy) {
        handle->close_after_response = true;
      } else {
        boost::system::error_code ignored;
        handle->socket->cancel(ignored);  // its idle read ends and the session closes
      }
    });
  }
}

std::size_t http_server::open_connections() const { return impl_->state->open_connections.load(); }

}  // namespace image_gateway
