#include "fakes/raw_origin.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <stdexcept>

namespace image_gateway::testing {
namespace {

using clock = std::chrono::steady_clock;

// Waits up to `timeout` (sliced, so a stop is noticed) for `events` on fd; true when ready.
bool wait_for(int fd, short events, clock::time_point until, const std::atomic<bool>* stopping) {
  for (;;) {
    if (stopping != nullptr && stopping->load()) return false;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd, events, 0};
    const int slice = static_cast<int>(std::min<long long>(left.count(), 50));
    const int ready = ::poll(&p, 1, slice);
    if (ready > 0) return true;
    if (ready < 0 && errno != EINTR) return false;
  }
}

sockaddr_in loopback(const std::string& address, unsigned short port) {
  sockaddr_in in{};
  in.sin_family = AF_INET;
  in.sin_port = htons(port);
  if (::inet_pton(AF_INET, address.c_str(), &in.sin_addr) != 1) {
    throw std::runtime_error("bad IPv4 address " + address);
  }
  return in;
}

}  // namespace

std::string origin_connection::read_head(std::chrono::milliseconds timeout) {
  const auto until = clock::now() + timeout;
  std::string head;
  char byte = 0;
  // Byte by byte: nothing past the head is consumed, so a script can read a body itself.
  while (head.size() < 64 * 1024) {
    if (!wait_for(fd_, POLLIN, until, &stopping_)) return {};
    const ssize_t n = ::recv(fd_, &byte, 1, 0);
    if (n <= 0) return {};
    head.push_back(byte);
    if (head.ends_with("\r\n\r\n")) {
      if (on_head) on_head(head);
      return head;
    }
  }
  return {};
}

bool origin_connection::send(std::string_view bytes) {
  while (!bytes.empty()) {
    if (!wait_for(fd_, POLLOUT, clock::now() + 10s, &stopping_)) return false;
    const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    sent_ += static_cast<std::size_t>(n);
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

bool origin_connection::wait_closed(std::chrono::milliseconds timeout) {
  const auto until = clock::now() + timeout;
  char chunk[4096];
  for (;;) {
    if (!wait_for(fd_, POLLIN, until, &stopping_)) return false;
    const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n == 0) return true;
    if (n < 0 && errno != EINTR && errno != EAGAIN) return true;  // reset
  }
}

bool origin_connection::sleep(std::chrono::milliseconds duration) {
  const auto until = clock::now() + duration;
  while (clock::now() < until) {
    if (stopping_.load()) return false;
    std::this_thread::sleep_for(std::min<clock::duration>(until - clock::now(), 20ms));
  }
  return !stopping_.load();
}

raw_origin::raw_origin(script on_connection, std::string bind_address)
    : script_(std::move(on_connection)), bind_address_(std::move(bind_address)) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) throw std::runtime_error("socket failed");
  int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in in = loopback(bind_address_, 0);
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&in), sizeof in) != 0 ||
      ::listen(listen_fd_, 128) != 0) {
    ::close(listen_fd_);
    throw std::runtime_error("cannot listen on " + bind_address_);
  }
  socklen_t length = sizeof in;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&in), &length);
  port_ = ntohs(in.sin_port);
  acceptor_ = std::thread([this] { accept_loop(); });
}

raw_origin::~raw_origin() {
  stopping_ = true;
  ::shutdown(listen_fd_, SHUT_RDWR);
  acceptor_.join();
  {
    std::lock_guard lock(mutex_);
    for (const int fd : open_fds_) ::shutdown(fd, SHUT_RDWR);
  }
  for (auto& thread : threads_) thread.join();
  ::close(listen_fd_);
}

void raw_origin::accept_loop() {
  while (!stopping_.load()) {
    if (!wait_for(listen_fd_, POLLIN, clock::now() + 1h, &stopping_)) continue;
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    ++connections_;
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    std::lock_guard lock(mutex_);
    open_fds_.push_back(fd);
    threads_.emplace_back([this, fd] {
      origin_connection connection(fd, stopping_);
      connection.on_head = [this](const std::string& head) {
        std::lock_guard inner(mutex_);
        requests_.push_back(head);
      };
      script_(connection);
      std::lock_guard inner(mutex_);
      // Closed here, under the lock, so the destructor never shuts down a reused descriptor.
      open_fds_.erase(std::find(open_fds_.begin(), open_fds_.end(), fd));
      ::close(fd);
    });
  }
}

std::string raw_origin::host_port() const { return bind_address_ + ":" + std::to_string(port_); }

std::vector<std::string> raw_origin::requests() const {
  std::lock_guard lock(mutex_);
  return requests_;
}

abuse_client::abuse_client(unsigned short port, int receive_window) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ >= 0 && receive_window > 0) {
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &receive_window, sizeof receive_window);
  }
  sockaddr_in in = loopback("127.0.0.1", port);
  if (fd_ >= 0 && ::connect(fd_, reinterpret_cast<sockaddr*>(&in), sizeof in) != 0) close();
  if (fd_ >= 0) {
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
}

abuse_client::~abuse_client() { close(); }

void abuse_client::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

void abuse_client::send_some(std::string_view bytes) {
  if (fd_ >= 0) (void)::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
}

void abuse_client::half_close() {
  if (fd_ >= 0) ::shutdown(fd_, SHUT_WR);
}

void abuse_client::reset() {
  if (fd_ < 0) return;
  const linger abort{1, 0};
  ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &abort, sizeof abort);
  close();
}

bool abuse_client::send(std::string_view bytes) {
  while (fd_ >= 0 && !bytes.empty()) {
    const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return fd_ >= 0;
}

bool abuse_client::read_until(std::string_view marker, std::chrono::milliseconds timeout) {
  const auto until = clock::now() + timeout;
  char chunk[4096];
  while (received_.find(marker) == std::string::npos) {
    if (fd_ < 0 || !wait_for(fd_, POLLIN, until, nullptr)) return false;
    const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    received_.append(chunk, static_cast<std::size_t>(n));
  }
  return true;
}

bool abuse_client::read_until_closed(std::chrono::milliseconds timeout, std::size_t chunk_bytes,
                                     std::chrono::milliseconds pause) {
  const auto until = clock::now() + timeout;
  char chunk[4096];
  const std::size_t take = std::min(chunk_bytes, sizeof chunk);
  for (;;) {
    if (fd_ < 0) return true;
    if (!wait_for(fd_, POLLIN, until, nullptr)) return false;
    const ssize_t n = ::recv(fd_, chunk, take, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return true;
    received_.append(chunk, static_cast<std::size_t>(n));
    if (pause.count() > 0) std::this_thread::sleep_for(pause);
  }
}

bool abuse_client::peer_closed() {
  if (fd_ < 0) return true;
  char chunk[4096];
  for (;;) {
    const ssize_t n = ::recv(fd_, chunk, sizeof chunk, MSG_DONTWAIT);
    if (n > 0) {
      received_.append(chunk, static_cast<std::size_t>(n));
      continue;
    }
    if (n == 0) return true;
    return errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR;
  }
}

std::string scripted_answer(int status, std::string_view content_type, std::string_view body,
                            std::string_view extra_headers) {
  std::string answer = "HTTP/1.1 " + std::to_string(status) + " X\r\n";
  if (!content_type.empty()) answer += "Content-Type: " + std::string(content_type) + "\r\n";
  answer += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  answer += extra_headers;
  answer += "Connection: close\r\n\r\n";
  answer += body;
  return answer;
}

nlohmann::json first_body(const std::string& raw) {
  const auto end = raw.find("\r\n\r\n");
  if (end == std::string::npos) return nlohmann::json();
  return nlohmann::json::parse(raw.substr(end + 4), nullptr, false);
}

bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds within) {
  const auto until = std::chrono::steady_clock::now() + within;
  while (std::chrono::steady_clock::now() < until) {
    if (condition()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return condition();
}

}  // namespace image_gateway::testing
