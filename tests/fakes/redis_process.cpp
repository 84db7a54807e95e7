#include "fakes/redis_process.hpp"

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <thread>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fakes/test_servers.hpp"

extern char** environ;

namespace image_gateway::testing {

namespace {

constexpr const char* server_binary = "/usr/bin/redis-server";

int connect_loopback(unsigned short port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(port);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Sends the commands, returns as many replies (or throws), every wait bounded by 5 s.
std::vector<redis::reply> exchange(unsigned short port,
                                   const std::vector<std::vector<std::string>>& commands) {
  const int fd = connect_loopback(port);
  if (fd < 0) throw std::runtime_error("redis_process: cannot connect");
  std::string out;
  for (const auto& command : commands) redis::append_command(out, command);
  std::size_t sent = 0;
  while (sent < out.size()) {
    const ssize_t n = ::send(fd, out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) {
      ::close(fd);
      throw std::runtime_error("redis_process: send failed");
    }
    sent += static_cast<std::size_t>(n);
  }
  redis::reply_parser parser(
      {.max_bulk_bytes = 64 * 1024 * 1024, .max_elements = 1'000'000, .max_depth = 8});
  std::vector<redis::reply> replies;
  char buffer[65536];
  while (replies.size() < commands.size()) {
    redis::reply r;
    const auto status = parser.next(r);
    if (status == redis::reply_parser::status::ready) {
      replies.push_back(std::move(r));
      continue;
    }
    if (status == redis::reply_parser::status::bad) {
      ::close(fd);
      throw std::runtime_error("redis_process: bad reply: " + parser.error());
    }
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 5000) <= 0) {
      ::close(fd);
      throw std::runtime_error("redis_process: no reply within 5 s");
    }
    const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) {
      ::close(fd);
      throw std::runtime_error("redis_process: connection closed");
    }
    parser.feed(std::string_view(buffer, static_cast<std::size_t>(n)));
  }
  ::close(fd);
  return replies;
}

}  // namespace

redis::client_settings test_client_settings() {
  using namespace std::chrono_literals;
  redis::client_settings s;
  s.timeout = 500ms;
  s.reconnect_min = 20ms;
  s.reconnect_max = 100ms;
  s.probe_key = "igw:writable:{probe}";
  return s;
}

bool redis_server_available() { return ::access(server_binary, X_OK) == 0; }

redis_process::redis_process(std::string password, std::vector<std::string> extra,
                             unsigned short port)
    : password_(std::move(password)), extra_(std::move(extra)) {
  port_ = port != 0 ? port : closed_port();
  start(port == 0);
}

redis_process::~redis_process() {
  if (pid_ > 0) {
    if (frozen_) ::kill(pid_, SIGCONT);
    kill();
  }
  if (!sentinel_config_.empty()) ::unlink(sentinel_config_.c_str());
}

std::unique_ptr<redis_process> redis_process::sentinel(unsigned short master_port,
                                                       const std::string& name) {
  char path[] = "/tmp/igw-sentinel-XXXXXX";
  const int fd = ::mkstemp(path);
  if (fd < 0) throw std::runtime_error("redis_process: cannot make a sentinel configuration");
  const std::string text = "sentinel monitor " + name + " 127.0.0.1 " +
                           std::to_string(master_port) + " 1\n" +
                           "sentinel down-after-milliseconds " + name + " 1000\n" +
                           "sentinel failover-timeout " + name + " 5000\n";
  const bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ::close(fd);
  if (!written) throw std::runtime_error("redis_process: cannot write a sentinel configuration");
  auto made = std::unique_ptr<redis_process>(new redis_process(as_sentinel{}, path));
  return made;
}

redis_process::redis_process(as_sentinel, std::string sentinel_config)
    : sentinel_config_(std::move(sentinel_config)) {
  port_ = closed_port();
  start(true);
}

void redis_process::start(bool may_move) {
  for (int attempt = 0; attempt < 5; ++attempt) {
    std::vector<std::string> args = arguments();
    if (launch(args)) return;
    // The port is another server's: a test running beside this one took it between
    // closed_port() and this start, or while this server was down for a restart.
    if (may_move) {
      port_ = closed_port();
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  }
  throw std::runtime_error("redis_process: redis-server exited at once (bad arguments?) or port " +
                           std::to_string(port_) + " is held by another server");
}

std::vector<std::string> redis_process::arguments() const {
  if (!sentinel_config_.empty()) {
    return {server_binary, sentinel_config_, "--sentinel",  "--port", std::to_string(port_),
            "--bind",      "127.0.0.1",      "--daemonize", "no",     "--logfile",
            "/dev/null"};
  }
  std::vector<std::string> args = {server_binary, "--port", std::to_string(port_), "--bind",
                                   "127.0.0.1", "--save", "", "--appendonly", "no",
                                   // A replica's full sync writes an RDB file: never in the
                                   // working directory, never shared between servers.
                                   "--dir", "/tmp", "--dbfilename",
                                   "igw-test-" + std::to_string(port_) + ".rdb", "--daemonize",
                                   "no", "--loglevel", "warning", "--logfile", "/dev/null"};
  if (!password_.empty()) {
    args.push_back("--requirepass");
    args.push_back(password_);
  }
  args.insert(args.end(), extra_.begin(), extra_.end());
  return args;
}

namespace {
// The process id a server gives in INFO server ("process_id:1234"); -1 when none.
pid_t process_id_in(const redis::reply& info) {
  const std::string field = "process_id:";
  const auto at = info.text.find(field);
  if (at == std::string::npos) return -1;
  return static_cast<pid_t>(std::strtol(info.text.c_str() + at + field.size(), nullptr, 10));
}
}  // namespace

bool redis_process::launch(std::vector<std::string>& args) {
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("redis_process: cannot start redis-server");
  if (pid == 0) {
    // The server dies with the test, however the test ends.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(1);
    ::execve(server_binary, argv.data(), environ);
    ::_exit(127);
  }
  pid_ = pid;
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < until) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;  // exited: the port is taken
      return false;
    }
    try {
      // The server that answers must be this one: a server of another test on the port
      // answers too while this one is failing to bind it.
      if (process_id_in(command({"INFO", "server"})) == pid_) return true;
      kill();
      return false;
    } catch (const std::exception&) {
      // not listening yet
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  kill();
  throw std::runtime_error("redis_process: redis-server did not come up on port " +
                           std::to_string(port_));
}

void redis_process::kill() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
  frozen_ = false;
}

void redis_process::restart() {
  kill();
  start(false);
}

void redis_process::freeze() {
  if (pid_ > 0 && ::kill(pid_, SIGSTOP) == 0) frozen_ = true;
}

void redis_process::thaw() {
  if (pid_ > 0 && ::kill(pid_, SIGCONT) == 0) frozen_ = false;
}

redis::reply redis_process::command(const std::vector<std::string>& args) const {
  if (password_.empty()) return exchange(port_, {args}).at(0);
  auto replies = exchange(port_, {{"AUTH", password_}, args});
  return replies.at(1);
}

std::vector<std::string> redis_process::keys() const {
  std::vector<std::string> found;
  std::string cursor = "0";
  do {
    const redis::reply r = command({"SCAN", cursor, "COUNT", "1000"});
    if (r.kind != redis::reply::type::array || r.elements.size() != 2) {
      throw std::runtime_error("redis_process: bad SCAN reply");
    }
    cursor = r.elements[0].text;
    for (const auto& key : r.elements[1].elements) found.push_back(key.text);
  } while (cursor != "0");
  return found;
}

}  // namespace image_gateway::testing
