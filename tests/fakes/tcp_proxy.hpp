#pragma once
// A TCP proxy for tests, on 127.0.0.1:0, that forwards every connection to 127.0.0.1:<target>
// (a real redis-server, a fake OPPO) and can behave like a slow or stalled peer: hold the
// target's replies back, from now on or only after a client sent a marker, or freeze both ways.
// Its own thread; every control is thread-safe and takes effect on bytes still held.
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace image_gateway::testing {

class tcp_proxy {
 public:
  explicit tcp_proxy(unsigned short target_port);
  ~tcp_proxy();  // closes every connection
  tcp_proxy(const tcp_proxy&) = delete;
  tcp_proxy& operator=(const tcp_proxy&) = delete;

  unsigned short port() const { return port_; }

  // Replies (target to client) are each held back `by` after they arrive (0: passed at once).
  void delay_replies(std::chrono::milliseconds by);
  // As delay_replies, but only once some client sent bytes containing `marker` (say a key of
  // the one command whose reply should be late); earlier replies pass at once.
  void delay_replies_after(std::string marker, std::chrono::milliseconds by);
  // Nothing passes either way until thaw(); connections stay open.
  void freeze();
  void thaw();
  // No delay, no marker, not frozen: everything held passes now.
  void clear();

  // Connections accepted, and the client bytes that contained the marker (0 or more times).
  std::size_t connections() const { return connections_.load(); }
  bool marker_seen() const { return marker_seen_.load(); }

  struct rules;

 private:
  boost::asio::io_context io_;
  std::shared_ptr<rules> rules_;
  unsigned short port_ = 0;
  std::atomic<std::size_t> connections_{0};
  std::atomic<bool> marker_seen_{false};
  std::thread thread_;
};

}  // namespace image_gateway::testing
