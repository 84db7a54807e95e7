// The Redis client against real redis-servers as deployments run them: a replica that cannot
// take writes, refused passwords and ACL users, TLS with a CA and certificates made here by
// openssl. Each server is started on a free loopback port and killed by pid.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <thread>

#include "fakes/redis_process.hpp"
#include "fakes/test_servers.hpp"
#include "image_gateway/log/logger.hpp"
#include "image_gateway/redis/client.hpp"

namespace image_gateway::testing {
namespace {

using namespace std::chrono_literals;
namespace asio = boost::asio;

// What the client reported, as the gateway counts it in image_gateway_redis_errors_total.
struct recorder {
  std::mutex mutex;
  std::vector<redis::call_outcome> outcomes;
  redis::call_observer observer() {
    return [this](const redis::call_report& report) {
      std::lock_guard lock(mutex);
      outcomes.push_back(report.outcome);
    };
  }
  // Whether it was reported, waiting up to 3 s (a set-up nobody answers ends after 1 s).
  bool saw(redis::call_outcome outcome) {
    for (int i = 0; i < 300; ++i) {
      {
        std::lock_guard lock(mutex);
        if (std::find(outcomes.begin(), outcomes.end(), outcome) != outcomes.end()) return true;
      }
      std::this_thread::sleep_for(10ms);
    }
    return false;
  }
};

class RedisTopologyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!redis_server_available()) GTEST_SKIP() << "redis-server is not installed";
  }
  void TearDown() override {
    work.reset();
    io.stop();
    if (runner.joinable()) runner.join();
  }
  static redis::client_settings settings_for(unsigned short port) {
    redis::client_settings s = test_client_settings();
    s.host = "127.0.0.1";
    s.port = std::to_string(port);
    return s;
  }
  std::optional<redis::reply> call(redis::client& c, std::vector<std::string> args) {
    return asio::co_spawn(io, c.call(std::move(args), "test"), asio::use_future).get();
  }

  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> work{io.get_executor()};
  std::thread runner{[this] { io.run(); }};
  recorder record;
};

TEST_F(RedisTopologyTest, AReplicaIsDownAsReadonlyUntilItIsPromoted) {
  redis_process master;
  redis_process replica("", {"--replicaof", "127.0.0.1", std::to_string(master.port())});
  redis::client c(settings_for(replica.port()), nullptr, record.observer());
  EXPECT_FALSE(c.wait_up(1s)) << "a replica answers PING, but cannot take a write";
  EXPECT_TRUE(record.saw(redis::call_outcome::readonly));
  EXPECT_FALSE(call(c, {"SET", "igw:k", "v"}).has_value());
  replica.command({"REPLICAOF", "NO", "ONE"});  // the failover made it the master
  ASSERT_TRUE(c.wait_up(5s));
  const auto set = call(c, {"SET", "igw:k", "v"});
  ASSERT_TRUE(set.has_value());
  EXPECT_EQ(set->text, "OK");
}

TEST_F(RedisTopologyTest, AMasterTurnedReplicaGoesDownAsReadonly) {
  redis_process master;
  redis_process other;
  redis::client c(settings_for(master.port()), nullptr, record.observer());
  ASSERT_TRUE(c.wait_up(5s));
  ASSERT_TRUE(call(c, {"SET", "igw:k", "v"}).has_value());
  master.command({"REPLICAOF", "127.0.0.1", std::to_string(other.port())});
  EXPECT_FALSE(call(c, {"SET", "igw:k", "v"}).has_value());
  EXPECT_TRUE(record.saw(redis::call_outcome::readonly));
  EXPECT_FALSE(c.up()) << "reads still work, but usable means writable";
}

TEST_F(RedisTopologyTest, AWrongPasswordIsDownAsWrongpass) {
  redis_process server("right-password");
  redis::client_settings s = settings_for(server.port());
  s.password = "wrong-password";
  redis::client c(s, nullptr, record.observer());
  EXPECT_FALSE(c.wait_up(500ms));
  EXPECT_TRUE(record.saw(redis::call_outcome::wrongpass));
  redis::client none(settings_for(server.port()), nullptr, record.observer());
  EXPECT_FALSE(none.wait_up(500ms));
  EXPECT_TRUE(record.saw(redis::call_outcome::noauth)) << "no password where one is required";
}

// Loss and recovery are logged once per episode, whatever the number of attempts in between, with
// the reason and never the password.
TEST_F(RedisTopologyTest, ARefusalIsLoggedOncePerEpisodeWithItsReason) {
  redis_process server("server-password");
  std::FILE* file = std::tmpfile();
  ASSERT_NE(file, nullptr);
  std::string text;
  {
    logger log(log_level::info, file);
    redis::client_settings s = settings_for(server.port());
    s.password = "client-password";
    s.reconnect_min = 10ms;
    s.reconnect_max = 10ms;
    recorder attempts;
    redis::client c(s, &log, attempts.observer());
    std::this_thread::sleep_for(500ms);  // dozens of refused attempts
    {
      std::lock_guard lock(attempts.mutex);
      EXPECT_GE(attempts.outcomes.size(), 5U);
    }
    server.command({"CONFIG", "SET", "requirepass", "client-password"});
    ASSERT_TRUE(c.wait_up(5s));
    log.flush();
    std::rewind(file);
    char chunk[4096];
    std::size_t n = 0;
    while ((n = std::fread(chunk, 1, sizeof chunk, file)) > 0) text.append(chunk, n);
  }
  std::fclose(file);
  const auto count = [&text](const std::string& what) {
    std::size_t found = 0;
    for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++found;
    return found;
  };
  EXPECT_EQ(count("Redis unavailable"), 1U) << text;
  EXPECT_EQ(count("\"reason\":\"wrongpass\""), 1U) << text;
  EXPECT_EQ(count("Redis connected"), 1U) << text;
  EXPECT_EQ(count("password"), 0U) << "no password, not even the word: " << text;
}

TEST_F(RedisTopologyTest, AnAclUserSignsInAndAWrongUserIsRefused) {
  redis_process server("default-password");
  server.command({"ACL", "SETUSER", "gateway", "on", ">gateway-password", "~igw:*", "+@all"});
  server.command({"ACL", "SETUSER", "elsewhere", "on", ">elsewhere-password", "~other:*", "+@all"});
  redis::client_settings s = settings_for(server.port());
  s.username = "gateway";
  s.password = "gateway-password";
  redis::client c(s, nullptr, record.observer());
  ASSERT_TRUE(c.wait_up(5s));
  ASSERT_TRUE(call(c, {"SET", "igw:k", "v"}).has_value());
  EXPECT_EQ(server.command({"GET", "igw:k"}).text, "v");

  recorder wrong_user;
  s.username = "nobody";
  redis::client refused(s, nullptr, wrong_user.observer());
  EXPECT_FALSE(refused.wait_up(500ms));
  EXPECT_TRUE(wrong_user.saw(redis::call_outcome::wrongpass));

  recorder no_write;
  s.username = "elsewhere";
  s.password = "elsewhere-password";
  redis::client outside(s, nullptr, no_write.observer());
  EXPECT_FALSE(outside.wait_up(500ms)) << "signed in, but may not write under the prefix";
  EXPECT_TRUE(no_write.saw(redis::call_outcome::noperm));
}

// A CA, a server certificate for 127.0.0.1 and localhost signed by it, and another CA.
class tls_files {
 public:
  tls_files() {
    dir_ = std::filesystem::temp_directory_path() /
           ("igw-redis-tls-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++));
    std::filesystem::create_directories(dir_);
    const std::string d = dir_.string();
    const std::string script =
        "cd '" + d + "' && " +
        "openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 "
        "-subj /CN=test-ca && "
        "openssl req -x509 -newkey rsa:2048 -nodes -keyout other.key -out other-ca.pem -days 2 "
        "-subj /CN=other-ca && "
        "openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr "
        "-subj /CN=localhost && "
        "printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\n' > san.ext && "
        "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial "
        "-out server.pem -days 2 -extfile san.ext";
    ok_ = std::system(("(" + script + ") >/dev/null 2>&1").c_str()) == 0;
  }
  ~tls_files() {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  bool ok() const { return ok_; }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }

 private:
  static inline int counter_ = 0;
  std::filesystem::path dir_;
  bool ok_ = false;
};

TEST_F(RedisTopologyTest, TlsIsVerifiedAgainstTheCaAndTheServerName) {
  const tls_files files;
  ASSERT_TRUE(files.ok()) << "openssl could not make the certificates";
  const unsigned short tls_port = closed_port();
  redis_process server(
      "", {"--tls-port", std::to_string(tls_port), "--tls-cert-file", files.path("server.pem"),
           "--tls-key-file", files.path("server.key"), "--tls-ca-cert-file", files.path("ca.pem"),
           "--tls-auth-clients", "no"});
  redis::client_settings s = settings_for(tls_port);
  s.tls = true;
  s.tls_ca_file = files.path("ca.pem");
  {
    redis::client good(s, nullptr, record.observer());
    ASSERT_TRUE(good.wait_up(5s));
    ASSERT_TRUE(call(good, {"SET", "igw:k", "over-tls"}).has_value());
    EXPECT_EQ(server.command({"GET", "igw:k"}).text, "over-tls");
  }
  {
    redis::client_settings by_name = s;
    by_name.host = "localhost";
    redis::client named(by_name, nullptr);
    EXPECT_TRUE(named.wait_up(5s)) << "verified by its DNS name";
  }
  {
    recorder wrong_ca;
    redis::client_settings other = s;
    other.tls_ca_file = files.path("other-ca.pem");
    redis::client refused(other, nullptr, wrong_ca.observer());
    EXPECT_FALSE(refused.wait_up(500ms));
    EXPECT_TRUE(wrong_ca.saw(redis::call_outcome::tls));
  }
  {
    recorder wrong_name;
    redis::client_settings other = s;
    other.tls_server_name = "redis.example.org";  // not in the certificate
    redis::client refused(other, nullptr, wrong_name.observer());
    EXPECT_FALSE(refused.wait_up(500ms));
    EXPECT_TRUE(wrong_name.saw(redis::call_outcome::tls));
  }
  {
    recorder plaintext;
    redis::client_settings other = s;
    other.port = std::to_string(server.port());  // rediss:// to the plaintext port
    redis::client refused(other, nullptr, plaintext.observer());
    EXPECT_FALSE(refused.wait_up(500ms));
    EXPECT_TRUE(plaintext.saw(redis::call_outcome::tls));
  }
}

// Master, replica and a sentinel: the client finds the master through the sentinel, and after
// SENTINEL FAILOVER under a stream of writes it writes to the new master within a bounded time.
TEST_F(RedisTopologyTest, SentinelFailoverIsFollowedUnderWrites) {
  redis_process master;
  redis_process replica("", {"--replicaof", "127.0.0.1", std::to_string(master.port())});
  for (int i = 0; i < 500; ++i) {
    if (replica.command({"INFO", "replication"}).text.find("master_link_status:up") !=
        std::string::npos) {
      break;
    }
    std::this_thread::sleep_for(10ms);
  }
  const auto sentinel = redis_process::sentinel(master.port(), "igw-master");
  for (int i = 0; i < 500; ++i) {  // the sentinel learns of the replica from the master
    if (!sentinel->command({"SENTINEL", "REPLICAS", "igw-master"}).elements.empty()) break;
    std::this_thread::sleep_for(10ms);
  }
  redis::client_settings s = settings_for(0);
  s.host = "";
  s.sentinel_master = "igw-master";
  s.sentinels = {{"127.0.0.1", std::to_string(closed_port())},  // a sentinel that is away
                 {"127.0.0.1", std::to_string(sentinel->port())}};
  redis::client c(s, nullptr, record.observer());
  ASSERT_TRUE(c.wait_up(5s));
  ASSERT_TRUE(call(c, {"SET", "igw:before", "1"}).has_value());
  EXPECT_EQ(master.command({"GET", "igw:before"}).text, "1");

  // The sentinel needs a first look at the replica before it takes it as a good one.
  std::string failover;
  for (int i = 0; i < 100 && failover != "OK"; ++i) {
    failover = sentinel->command({"SENTINEL", "FAILOVER", "igw-master"}).text;
    if (failover != "OK") std::this_thread::sleep_for(100ms);
  }
  ASSERT_EQ(failover, "OK");
  // Writes go on; some fail while the roles change (the replicas go on alone meanwhile). The
  // sentinel's own failover takes ~11 s here; the bound leaves room for a loaded machine.
  const auto started = std::chrono::steady_clock::now();
  bool on_new_master = false;
  int n = 0;
  while (std::chrono::steady_clock::now() - started < 45s) {
    const std::string key = "igw:after:" + std::to_string(n++);
    if (call(c, {"SET", key, "1"}).has_value() && replica.command({"GET", key}).text == "1" &&
        replica.command({"ROLE"}).elements.at(0).text == "master") {
      on_new_master = true;
      break;
    }
    std::this_thread::sleep_for(20ms);
  }
  const auto took = std::chrono::steady_clock::now() - started;
  EXPECT_TRUE(on_new_master) << "writes never reached the promoted replica";
  std::cout << "writes on the new master "
            << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
            << " ms after SENTINEL FAILOVER (" << n << " writes)\n";
}

// The test harness itself: a server started on a port another test's server holds is not taken
// for its own (that one answers PING too), so no test drives another test's Redis.
TEST(RedisProcess, AnotherServerOnThePortIsNotTakenForItsOwn) {
  ASSERT_TRUE(redis_server_available());
  redis_process first;
  EXPECT_THROW(redis_process("", {}, first.port()), std::runtime_error);
  EXPECT_EQ(first.command({"PING"}).text, "PONG");
}

}  // namespace
}  // namespace image_gateway::testing
