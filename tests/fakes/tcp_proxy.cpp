#include "fakes/tcp_proxy.hpp"

#include <array>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

namespace image_gateway::testing {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using steady = std::chrono::steady_clock;
using std::chrono::milliseconds;

struct tcp_proxy::rules {
  mutable std::mutex mutex;
  milliseconds delay{0};
  std::string marker;
  milliseconds delay_after_marker{0};
  bool armed = false;  // the marker was seen
  bool frozen = false;

  // How long a reply that arrived at `at` is still held (0: send it).
  milliseconds hold(steady::time_point at, bool reply) const {
    std::lock_guard lock(mutex);
    if (frozen) return milliseconds(2);
    if (!reply) return milliseconds(0);
    const milliseconds by = armed ? std::max(delay, delay_after_marker) : delay;
    const auto left = std::chrono::duration_cast<milliseconds>(at + by - steady::now());
    return std::max(left, milliseconds(0));
  }
};

namespace {

struct link {
  explicit link(asio::io_context& io) : client(io), target(io) {}
  tcp::socket client;
  tcp::socket target;
  void close() {
    boost::system::error_code ignored;
    client.close(ignored);
    target.close(ignored);
  }
};

asio::awaitable<void> pump(std::shared_ptr<link> l, bool reply,
                           std::shared_ptr<tcp_proxy::rules> rules,
                           std::atomic<bool>& marker_seen) {
  tcp::socket& from = reply ? l->target : l->client;
  tcp::socket& to = reply ? l->client : l->target;
  std::array<char, 16 * 1024> buffer{};
  asio::steady_timer timer(from.get_executor());
  for (;;) {
    boost::system::error_code ec;
    const std::size_t n = co_await from.async_read_some(
        asio::buffer(buffer), asio::redirect_error(asio::use_awaitable, ec));
    if (ec) break;
    const auto arrived = steady::now();
    if (!reply) {
      std::lock_guard lock(rules->mutex);
      if (!rules->marker.empty() &&
          std::string_view(buffer.data(), n).find(rules->marker) != std::string_view::npos) {
        rules->armed = true;
        marker_seen = true;
      }
    }
    for (milliseconds held = rules->hold(arrived, reply); held.count() > 0;
         held = rules->hold(arrived, reply)) {
      timer.expires_after(std::min(held, milliseconds(5)));
      co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    co_await asio::async_write(to, asio::buffer(buffer.data(), n),
                               asio::redirect_error(asio::use_awaitable, ec));
    if (ec) break;
  }
  l->close();
}

asio::awaitable<void> serve(std::shared_ptr<tcp::acceptor> acceptor, unsigned short target_port,
                            std::shared_ptr<tcp_proxy::rules> rules,
                            std::atomic<std::size_t>& connections, std::atomic<bool>& marker_seen) {
  auto& io = static_cast<asio::io_context&>(acceptor->get_executor().context());
  for (;;) {
    auto l = std::make_shared<link>(io);
    boost::system::error_code ec;
    co_await acceptor->async_accept(l->client, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return;
    ++connections;
    co_await l->target.async_connect(tcp::endpoint(asio::ip::address_v4::loopback(), target_port),
                                     asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      l->close();
      continue;
    }
    asio::co_spawn(io, pump(l, false, rules, marker_seen), asio::detached);
    asio::co_spawn(io, pump(l, true, rules, marker_seen), asio::detached);
  }
}

}  // namespace

tcp_proxy::tcp_proxy(unsigned short target_port) : rules_(std::make_shared<rules>()) {
  auto acceptor =
      std::make_shared<tcp::acceptor>(io_, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
  port_ = acceptor->local_endpoint().port();
  asio::co_spawn(io_, serve(acceptor, target_port, rules_, connections_, marker_seen_),
                 asio::detached);
  thread_ = std::thread([this] { io_.run(); });
}

tcp_proxy::~tcp_proxy() {
  io_.stop();
  thread_.join();
}

void tcp_proxy::delay_replies(milliseconds by) {
  std::lock_guard lock(rules_->mutex);
  rules_->delay = by;
}

void tcp_proxy::delay_replies_after(std::string marker, milliseconds by) {
  std::lock_guard lock(rules_->mutex);
  rules_->marker = std::move(marker);
  rules_->delay_after_marker = by;
  rules_->armed = false;
}

void tcp_proxy::freeze() {
  std::lock_guard lock(rules_->mutex);
  rules_->frozen = true;
}

void tcp_proxy::thaw() {
  std::lock_guard lock(rules_->mutex);
  rules_->frozen = false;
}

void tcp_proxy::clear() {
  std::lock_guard lock(rules_->mutex);
  rules_->delay = milliseconds(0);
  rules_->marker.clear();
  rules_->delay_after_marker = milliseconds(0);
  rules_->armed = false;
  rules_->frozen = false;
}

}  // namespace image_gateway::testing
