#pragma once
// Raw TCP peers for hostile-input tests: a scripted origin that can misbehave in ways a real
// HTTP server never would (lying Content-Length, drip-feed, silence, endless chunked bodies),
// and a raw client for abusing the gateway's own server. Blocking sockets, one thread each.
#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace image_gateway::testing {

using namespace std::chrono_literals;

// One accepted connection, handed to the origin's script on its own thread.
class origin_connection {
 public:
  origin_connection(int fd, const std::atomic<bool>& stopping) : fd_(fd), stopping_(stopping) {}

  // Reads up to the end of a request head ("\r\n\r\n"); empty when the peer closed, the time
  // passed or the origin is stopping.
  std::string read_head(std::chrono::milliseconds timeout = 5s);
  // Sends everything; false once the peer is gone (reset, closed) or the origin stops.
  bool send(std::string_view bytes);
  // Sends what the socket takes now without waiting (none once the peer is gone).
  void send_some(std::string_view bytes);
  // Waits until the peer closes its side (true) or the time passes (false); reads and drops
  // whatever arrives meanwhile.
  bool wait_closed(std::chrono::milliseconds timeout);
  // Sleeps, waking early when the origin stops; false then.
  bool sleep(std::chrono::milliseconds duration);
  bool stopping() const { return stopping_.load(); }
  std::size_t bytes_sent() const { return sent_; }
  // Called by the origin with every head read_head returns.
  std::function<void(const std::string&)> on_head;

 private:
  int fd_;
  const std::atomic<bool>& stopping_;
  std::size_t sent_ = 0;
};

// A TCP origin on <bind_address>:0 that runs `script` for every accepted connection and
// counts connections. Bind 127.0.0.2 (also loopback on Linux) to have two origins that an
// allow list can tell apart.
class raw_origin {
 public:
  using script = std::function<void(origin_connection&)>;

  explicit raw_origin(script on_connection, std::string bind_address = "127.0.0.1");
  ~raw_origin();  // stops the scripts (their sockets are shut down) and joins every thread

  raw_origin(const raw_origin&) = delete;
  raw_origin& operator=(const raw_origin&) = delete;

  std::string host_port() const;  // "127.0.0.1:40123"
  std::string url(const std::string& path) const { return "http://" + host_port() + path; }
  unsigned short port() const { return port_; }
  std::size_t connections() const { return connections_.load(); }
  // Request heads the scripts read with read_head, in arrival order.
  std::vector<std::string> requests() const;

 private:
  void accept_loop();

  script script_;
  std::string bind_address_;
  int listen_fd_ = -1;
  unsigned short port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<std::size_t> connections_{0};
  mutable std::mutex mutex_;
  std::vector<int> open_fds_;
  std::vector<std::string> requests_;
  std::vector<std::thread> threads_;
  std::thread acceptor_;
};

// A plain blocking TCP client to 127.0.0.1:port, for talking to the gateway byte by byte.
class abuse_client {
 public:
  // `receive_window` > 0: the socket's receive buffer, set before connecting (the window is
  // agreed at the handshake), for a client whose reading holds the server back.
  explicit abuse_client(unsigned short port, int receive_window = 0);
  ~abuse_client();
  abuse_client(const abuse_client&) = delete;
  abuse_client& operator=(const abuse_client&) = delete;

  bool connected() const { return fd_ >= 0; }
  bool send(std::string_view bytes);
  // Sends what the socket takes now without waiting (none once the peer is gone).
  void send_some(std::string_view bytes);
  // Reads until `marker` has arrived (true) or the peer closed / the time passed (false).
  // Everything read so far is in received().
  bool read_until(std::string_view marker, std::chrono::milliseconds timeout = 5s);
  // Reads until the peer closes (true: orderly close or reset) or the time passes (false); a
  // slow reader takes at most `chunk_bytes` (≤ 4096) at a time and waits `pause` after each.
  bool read_until_closed(std::chrono::milliseconds timeout = 5s, std::size_t chunk_bytes = 4096,
                         std::chrono::milliseconds pause = 0ms);
  // True when the peer has closed (EOF or reset) right now, without waiting.
  bool peer_closed();
  const std::string& received() const { return received_; }
  void clear() { received_.clear(); }
  void close();
  // shutdown(SHUT_WR): the request is complete, the client still reads.
  void half_close();
  // Closes with a reset (SO_LINGER 0), as a client that is killed or gives up does.
  void reset();

 private:
  int fd_ = -1;
  std::string received_;
};

// The body of the first response in `raw` (after its header block), as JSON (discarded when it
// is not JSON or not there).
nlohmann::json first_body(const std::string& raw);

// Whether `condition` holds within `within`, asked every 10 ms.
bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds within = 5s);

// "HTTP/1.1 200 OK\r\n..." for a fixed body.
std::string scripted_answer(int status, std::string_view content_type, std::string_view body,
                            std::string_view extra_headers = "");

}  // namespace image_gateway::testing
