// The Redis client against a scripted peer on loopback: pipelining, AUTH/SELECT, NOSCRIPT, and
// every way a Redis can misbehave (garbage, silence, gone) failing the call, never the caller.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <functional>
#include <mutex>
#include <thread>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "image_gateway/redis/client.hpp"

namespace image_gateway::redis {
namespace {

using namespace std::chrono_literals;
namespace asio = boost::asio;

// A loopback peer that answers each command with what `answer` returns ("" : stay silent).
class scripted_peer {
 public:
  using answer_fn = std::function<std::string(const std::vector<std::string>&)>;

  explicit scripted_peer(answer_fn answer) : answer_(std::move(answer)) {
    listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    if (::bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        ::listen(listener_, 16) != 0 ||
        ::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
      throw std::runtime_error("scripted_peer: cannot listen");
    }
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~scripted_peer() {
    stop_ = true;
    thread_.join();
    for (std::thread& t : talkers_) t.join();
    ::close(listener_);
  }

  unsigned short port() const { return port_; }
  std::vector<std::vector<std::string>> seen() const {
    std::lock_guard lock(mutex_);
    return seen_;
  }
  int connections() const { return connections_.load(); }

 private:
  void serve() {
    while (!stop_) {
      pollfd p{listener_, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      const int fd = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      ++connections_;
      talkers_.emplace_back([this, fd] {
        talk(fd);
        ::close(fd);
      });
    }
  }

  // One connection, until the client closes it or the test ends.
  void talk(int fd) {
    reply_parser parser;
    char buffer[4096];
    while (!stop_) {
      reply command;
      const auto status = parser.next(command);
      if (status == reply_parser::status::bad) return;
      if (status == reply_parser::status::ready) {
        std::vector<std::string> args;
        for (const reply& arg : command.elements) args.push_back(arg.text);
        {
          std::lock_guard lock(mutex_);
          seen_.push_back(args);
        }
        const std::string out = answer_(args);
        if (out == "close") return;
        if (!out.empty() && ::send(fd, out.data(), out.size(), MSG_NOSIGNAL) < 0) return;
        continue;
      }
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
      if (n <= 0) return;
      parser.feed(std::string_view(buffer, static_cast<std::size_t>(n)));
    }
  }

  answer_fn answer_;
  int listener_ = -1;
  unsigned short port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0};
  mutable std::mutex mutex_;
  std::vector<std::vector<std::string>> seen_;
  std::thread thread_;
  std::vector<std::thread> talkers_;  // one per connection, touched by `thread_` only
};

// Answers the connection set-up like Redis does.
std::string handshake_answer(const std::vector<std::string>& args) {
  if (args.at(0) == "PING") return "+PONG\r\n";
  if (args.at(0) == "AUTH" || args.at(0) == "SELECT" || args.at(0) == "SET") return "+OK\r\n";
  return "";
}

// Answers like a Redis that refuses the password it is given.
std::string refusing_the_password(const std::vector<std::string>& args) {
  if (args.at(0) == "AUTH") return "-WRONGPASS invalid username-password pair\r\n";
  return handshake_answer(args);
}

struct recorder {
  std::mutex mutex;
  std::vector<call_outcome> outcomes;
  call_observer observer() {
    return [this](const call_report& report) {
      std::lock_guard lock(mutex);
      outcomes.push_back(report.outcome);
    };
  }
  std::vector<call_outcome> get() {
    std::lock_guard lock(mutex);
    return outcomes;
  }
};

class RedisClientTest : public ::testing::Test {
 protected:
  void TearDown() override {
    work.reset();
    io.stop();
    runner.join();
  }
  client_settings settings_for(const scripted_peer& peer) {
    client_settings s;
    s.host = "127.0.0.1";
    s.port = std::to_string(peer.port());
    s.timeout = 200ms;
    return s;
  }
  // With the write probe, and quick to try again.
  client_settings probing(const scripted_peer& peer) {
    client_settings s = settings_for(peer);
    s.probe_key = "igw:writable";
    s.reconnect_min = 20ms;
    s.reconnect_max = 20ms;
    return s;
  }
  std::optional<reply> call(client& c, std::vector<std::string> args) {
    return asio::co_spawn(io, c.call(std::move(args), "test"), asio::use_future).get();
  }

  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> work{io.get_executor()};
  std::thread runner{[this] { io.run(); }};
  recorder record;
};

TEST_F(RedisClientTest, PipelinedRepliesReachTheirOwnCallers) {
  scripted_peer peer([](const std::vector<std::string>& args) {
    if (args.at(0) == "GET")
      return "$" + std::to_string(args.at(1).size()) + "\r\n" + args.at(1) + "\r\n";
    return handshake_answer(args);
  });
  client c(settings_for(peer), nullptr, record.observer());
  ASSERT_TRUE(c.wait_up(5s));
  std::vector<std::future<std::optional<reply>>> futures;
  for (int i = 0; i < 50; ++i) {
    futures.push_back(
        asio::co_spawn(io, c.call({"GET", "key-" + std::to_string(i)}, "test"), asio::use_future));
  }
  for (int i = 0; i < 50; ++i) {
    const auto r = futures[i].get();
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->text, "key-" + std::to_string(i));
  }
  // The client's own connection, and one for the calling thread (made in the background, while
  // the first calls go through the client's own): never one per call.
  for (int i = 0; i < 200 && peer.connections() < 2; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(peer.connections(), 2);
  EXPECT_TRUE(call(c, {"GET", "again"}).has_value());
  EXPECT_EQ(peer.connections(), 2);
}

TEST_F(RedisClientTest, AuthAndSelectComeFirst) {
  scripted_peer peer(handshake_answer);
  client_settings s = settings_for(peer);
  s.password = "pw";
  s.db = 2;
  client c(s, nullptr);
  ASSERT_TRUE(c.wait_up(5s));
  const auto seen = peer.seen();
  ASSERT_GE(seen.size(), 3U);
  EXPECT_EQ(seen[0], (std::vector<std::string>{"AUTH", "pw"}));
  EXPECT_EQ(seen[1], (std::vector<std::string>{"SELECT", "2"}));
  EXPECT_EQ(seen[2], (std::vector<std::string>{"PING"}));
}

TEST_F(RedisClientTest, AnAclUserIsSentWithThePassword) {
  scripted_peer peer(handshake_answer);
  client_settings s = settings_for(peer);
  s.username = "gateway";
  s.password = "pw";
  client c(s, nullptr);
  ASSERT_TRUE(c.wait_up(5s));
  EXPECT_EQ(peer.seen().at(0), (std::vector<std::string>{"AUTH", "gateway", "pw"}));
}

// A server that refuses writes while `read_only`, as a replica does.
scripted_peer::answer_fn replica_answer(const std::atomic<bool>& read_only) {
  return [&read_only](const std::vector<std::string>& args) -> std::string {
    if (args.at(0) == "SET" && read_only) {
      return "-READONLY You can't write against a read only replica.\r\n";
    }
    return handshake_answer(args);
  };
}

// Usable means writable: the set-up writes the probe key, and a server that refuses it is down,
// the refusal counted under its own reason.
TEST_F(RedisClientTest, AServerThatRefusesTheProbeWriteIsDown) {
  std::atomic<bool> read_only{true};
  scripted_peer peer(replica_answer(read_only));
  const client_settings s = probing(peer);
  client c(s, nullptr, record.observer());
  EXPECT_FALSE(c.wait_up(300ms));
  EXPECT_EQ((peer.seen().at(0)),
            (std::vector<std::string>{"SET", "igw:writable", "1", "PX", "10000"}));
  ASSERT_FALSE(record.get().empty());
  EXPECT_EQ(record.get().front(), call_outcome::readonly);
  read_only = false;  // promoted
  EXPECT_TRUE(c.wait_up(5s));
}

TEST_F(RedisClientTest, AReadOnlyAnswerTakesTheClientDownUntilWritesWork) {
  std::atomic<bool> read_only{false};
  scripted_peer peer(replica_answer(read_only));
  const client_settings s = probing(peer);
  client c(s, nullptr, record.observer());
  ASSERT_TRUE(c.wait_up(5s));
  const std::size_t before = record.get().size();
  read_only = true;  // a failover left this address a replica
  EXPECT_FALSE(call(c, {"SET", "k", "v"}).has_value());
  // Counted as readonly: on the call, or first on the probe of the caller's own connection being
  // made (the call, sent meanwhile through the client's connection, then ends as down).
  const std::vector<call_outcome> seen = record.get();
  EXPECT_NE(std::find(seen.begin() + static_cast<std::ptrdiff_t>(before), seen.end(),
                      call_outcome::readonly),
            seen.end());
  EXPECT_FALSE(c.up());
  std::this_thread::sleep_for(200ms);
  EXPECT_FALSE(c.up()) << "the probe still fails";
  read_only = false;
  EXPECT_TRUE(c.wait_up(5s));
  EXPECT_TRUE(call(c, {"SET", "k", "v"}).has_value());
}

TEST_F(RedisClientTest, ARefusedPasswordIsCountedAsWrongpass) {
  scripted_peer peer(refusing_the_password);
  client_settings s = settings_for(peer);
  s.password = "wrong";
  client c(s, nullptr, record.observer());
  EXPECT_FALSE(c.wait_up(300ms));
  ASSERT_FALSE(record.get().empty());
  EXPECT_EQ(record.get().front(), call_outcome::wrongpass);
}

TEST(RedisOutcome, ErrorRepliesAreToldApartByTheirFirstWord) {
  const auto of = [](std::string text) {
    reply r;
    r.kind = reply::type::error;
    r.text = std::move(text);
    return outcome_of(r);
  };
  EXPECT_EQ(of("READONLY You can't write against a read only replica."), call_outcome::readonly);
  EXPECT_EQ(of("WRONGPASS invalid username-password pair"), call_outcome::wrongpass);
  EXPECT_EQ(of("NOAUTH Authentication required."), call_outcome::noauth);
  EXPECT_EQ(of("NOPERM this user has no permissions"), call_outcome::noperm);
  EXPECT_EQ(of("MOVED 3999 127.0.0.1:6381"), call_outcome::moved);
  EXPECT_EQ(of("ASK 3999 127.0.0.1:6381"), call_outcome::moved);
  EXPECT_EQ(of("WRONGTYPE Operation against a key"), call_outcome::error_reply);
  EXPECT_EQ(to_string(call_outcome::readonly), "readonly");
  EXPECT_EQ(to_string(call_outcome::tls), "tls");
}

TEST_F(RedisClientTest, ARefusedPasswordKeepsTheClientDown) {
  scripted_peer peer(refusing_the_password);
  client_settings s = settings_for(peer);
  s.password = "wrong";
  client c(s, nullptr, record.observer());
  EXPECT_FALSE(c.wait_up(500ms));
  EXPECT_FALSE(call(c, {"GET", "k"}).has_value());
  EXPECT_EQ(record.get().back(), call_outcome::down) << "failed at once, nothing sent";
}

TEST_F(RedisClientTest, NoScriptFallsBackToEval) {
  scripted_peer peer([](const std::vector<std::string>& args) -> std::string {
    if (args.at(0) == "EVALSHA") return "-NOSCRIPT No matching script. Please use EVAL.\r\n";
    if (args.at(0) == "EVAL") return ":7\r\n";
    return handshake_answer(args);
  });
  client c(settings_for(peer), nullptr, record.observer());
  ASSERT_TRUE(c.wait_up(5s));
  const script lua("return 7");
  EXPECT_EQ(lua.sha1, "59b6ab2fbe0ee4b25733de0f62e6cda4899ef8e9");  // sha1("return 7")
  const auto r = asio::co_spawn(io, c.run(lua, {"k"}, {"a"}, "test"), asio::use_future).get();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->integer, 7);
  // What the calls sent (the caller's connection may be set up in between, on its own).
  std::vector<std::vector<std::string>> seen;
  for (const auto& command : peer.seen()) {
    if (command.at(0).starts_with("EVAL")) seen.push_back(command);
  }
  ASSERT_EQ(seen.size(), 2U);
  EXPECT_EQ(seen.at(seen.size() - 2),
            (std::vector<std::string>{"EVALSHA", lua.sha1, "1", "k", "a"}));
  EXPECT_EQ(seen.back(), (std::vector<std::string>{"EVAL", "return 7", "1", "k", "a"}));
  EXPECT_EQ(record.get().back(), call_outcome::ok);
}

TEST_F(RedisClientTest, GarbageFailsTheCallIsCountedAndTheClientReconnects) {
  scripted_peer peer([](const std::vector<std::string>& args) -> std::string {
    if (args.at(0) == "GET") return "HTTP/1.1 400 Bad Request\r\n\r\n";
    return handshake_answer(args);
  });
  client c(settings_for(peer), nullptr, record.observer());
  ASSERT_TRUE(c.wait_up(5s));
  EXPECT_FALSE(call(c, {"GET", "k"}).has_value());
  EXPECT_EQ(record.get().back(), call_outcome::protocol);
  EXPECT_TRUE(c.wait_up(5s)) << "a new connection after the garbage";
  EXPECT_GE(peer.connections(), 2);
}

TEST_F(RedisClientTest, AnErrorReplyFailsTheCall) {
  scripted_peer peer([](const std::vector<std::string>& args) -> std::string {
    if (args.at(0) == "GET") return "-WRONGTYPE Operation against a key holding the wrong kind\r\n";
    return handshake_answer(args);
  });
  client c(settings_for(peer), nullptr, record.observer());
  ASSERT_TRUE(c.wait_up(5s));
  EXPECT_FALSE(call(c, {"GET", "k"}).has_value());
  EXPECT_EQ(record.get().back(), call_outcome::error_reply);
  EXPECT_TRUE(c.up()) << "an error reply is an answer: the connection stays";
}

TEST_F(RedisClientTest, SilenceTimesOutAndTheBreakerOpens) {
  scripted_peer peer(handshake_answer);  // never answers GET
  client_settings s = settings_for(peer);
  s.reconnect_min = 10s;  // the connection stays down for the rest of the test
  s.reconnect_max = 10s;
  client c(s, nullptr, record.observer());
  ASSERT_TRUE(c.wait_up(5s));
  EXPECT_FALSE(call(c, {"GET", "k"}).has_value());
  EXPECT_EQ(record.get().back(), call_outcome::timeout);
  EXPECT_FALSE(c.up());
  // While down, calls fail at once: nothing is sent, no second time-out is waited for.
  const auto gets = [&peer] {
    const auto seen = peer.seen();
    return std::count_if(seen.begin(), seen.end(),
                         [](const auto& command) { return command.at(0) == "GET"; });
  };
  const auto sent_before = gets();
  EXPECT_FALSE(call(c, {"GET", "k"}).has_value());
  EXPECT_EQ(record.get().back(), call_outcome::down);
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(gets(), sent_before);
}

TEST_F(RedisClientTest, AClosedConnectionFailsTheCallsOnIt) {
  scripted_peer peer([](const std::vector<std::string>& args) -> std::string {
    if (args.at(0) == "GET") return "close";
    return handshake_answer(args);
  });
  client c(settings_for(peer), nullptr, record.observer());
  ASSERT_TRUE(c.wait_up(5s));
  EXPECT_FALSE(call(c, {"GET", "k"}).has_value());
  EXPECT_EQ(record.get().back(), call_outcome::connection);
}

TEST_F(RedisClientTest, NothingListeningMeansDownAtOnce) {
  client_settings s;
  s.host = "127.0.0.1";
  {
    scripted_peer gone(handshake_answer);
    s.port = std::to_string(gone.port());
  }
  client c(s, nullptr, record.observer());
  EXPECT_FALSE(c.wait_up(300ms));
  EXPECT_FALSE(call(c, {"GET", "k"}).has_value());
  EXPECT_EQ(record.get().back(), call_outcome::down);
}

}  // namespace
}  // namespace image_gateway::redis
