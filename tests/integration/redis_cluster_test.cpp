// Redis Cluster mode against a real 3-master cluster (redis-server 7.0, loopback ports): keys
// spread over every master, one upload per image across gateways, and a slot moved from one
// master to another under a stream of calls (ASK, then MOVED) without a failed call.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "fakes/redis_process.hpp"
#include "fakes/test_servers.hpp"
#include "image_gateway/redis/client.hpp"
#include "image_gateway/redis/cluster_slots.hpp"
#include "image_gateway/util/sample_images.hpp"

namespace image_gateway::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
namespace asio = boost::asio;
using steady = std::chrono::steady_clock;

// A free loopback port a cluster node may use: its port and its bus port must both be
// ≤ 55535 for redis-server 7.0.
unsigned short low_free_port(std::set<unsigned short>& taken) {
  for (int attempt = 0; attempt < 200; ++attempt) {
    const unsigned short port = closed_port();
    if (port <= 55535 && taken.insert(port).second) return port;
  }
  throw std::runtime_error("no free loopback port at or below 55535");
}

std::string info_field(const redis::reply& info, const std::string& name) {
  const auto at = info.text.find(name + ":");
  if (at == std::string::npos) return "";
  const auto start = at + name.size() + 1;
  return info.text.substr(start, info.text.find_first_of("\r\n", start) - start);
}

// Three masters, slots 0-5460, 5461-10922, 10923-16383, joined with CLUSTER MEET; stopped by
// pid and their directory removed when it goes.
class redis_cluster {
 public:
  redis_cluster() {
    char pattern[] = "/tmp/igw-cluster-XXXXXX";
    if (::mkdtemp(pattern) == nullptr) throw std::runtime_error("cannot make a directory");
    dir_ = pattern;
    for (int i = 0; i < 3; ++i) start_node();
    const long long ranges[3][2] = {{0, 5460}, {5461, 10922}, {10923, 16383}};
    for (int i = 0; i < 3; ++i) {
      ids_.push_back(node(i).command({"CLUSTER", "MYID"}).text);
      expect_ok(node(i).command({"CLUSTER", "ADDSLOTSRANGE", std::to_string(ranges[i][0]),
                                 std::to_string(ranges[i][1])}));
    }
    for (int i = 1; i < 3; ++i) {
      expect_ok(node(0).command({"CLUSTER", "MEET", "127.0.0.1", std::to_string(node(i).port()),
                                 std::to_string(buses_[i])}));
    }
    const auto until = steady::now() + 15s;
    for (;;) {
      bool ok = true;
      for (int i = 0; i < 3; ++i) {
        const redis::reply info = node(i).command({"CLUSTER", "INFO"});
        ok = ok && info_field(info, "cluster_state") == "ok" &&
             info_field(info, "cluster_known_nodes") == "3";
      }
      if (ok) break;
      if (steady::now() > until) throw std::runtime_error("the cluster did not come up");
      std::this_thread::sleep_for(50ms);
    }
  }
  // A replica of master `i`, known to every node and in sync with its master.
  redis_process& add_replica_of(std::size_t i) {
    redis_process& replica = start_node();
    const std::size_t at = nodes_.size() - 1;
    ids_.push_back(replica.command({"CLUSTER", "MYID"}).text);
    expect_ok(node(0).command({"CLUSTER", "MEET", "127.0.0.1", std::to_string(replica.port()),
                               std::to_string(buses_[at])}));
    const auto until = steady::now() + 15s;
    for (;;) {
      // REPLICATE needs the master known to the replica first.
      if (!replica.command({"CLUSTER", "REPLICATE", id(i)}).is_error()) break;
      if (steady::now() > until) throw std::runtime_error("the replica did not join");
      std::this_thread::sleep_for(50ms);
    }
    for (;;) {
      if (info_field(replica.command({"INFO", "replication"}), "master_link_status") == "up") break;
      if (steady::now() > until) throw std::runtime_error("the replica did not sync");
      std::this_thread::sleep_for(50ms);
    }
    return replica;
  }

  // A one-node cluster of its own on `port`, holding every slot and none of this cluster's keys:
  // what a client finds when another cluster took an address it knew. It refuses to be a
  // replication master: a replica of the node that had the address would otherwise sync from
  // it and lose its keys (Redis itself does not check whom it syncs from).
  std::unique_ptr<redis_process> another_cluster_at(unsigned short port) {
    const unsigned short bus = low_free_port(taken_);
    auto other = std::make_unique<redis_process>(
        "",
        std::vector<std::string>{"--cluster-enabled", "yes", "--cluster-config-file",
                                 (dir_ / ("other-" + std::to_string(port) + ".conf")).string(),
                                 "--cluster-port", std::to_string(bus), "--dir", dir_.string(),
                                 "--rename-command", "PSYNC", "", "--rename-command", "SYNC", ""},
        port);
    expect_ok(other->command({"CLUSTER", "ADDSLOTSRANGE", "0", "16383"}));
    const auto until = steady::now() + 15s;
    while (info_field(other->command({"CLUSTER", "INFO"}), "cluster_state") != "ok") {
      if (steady::now() > until) throw std::runtime_error("the other cluster did not come up");
      std::this_thread::sleep_for(50ms);
    }
    return other;
  }

  ~redis_cluster() {
    nodes_.clear();  // killed by pid
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  // Node `i` killed, its port and bus port held: connections to them fail at once, and no
  // server of a test running beside this one takes them (a replica would sync from it).
  void kill(std::size_t i) {
    node(i).kill();
    held_.push_back(std::make_unique<held_port>(node(i).port()));
    held_.push_back(std::make_unique<held_port>(buses_.at(i)));
  }

  redis_process& node(std::size_t i) { return *nodes_.at(i); }
  std::size_t size() const { return nodes_.size(); }
  // A free port no node of this cluster (or of another_cluster_at) will take.
  unsigned short free_port() { return low_free_port(taken_); }
  const std::string& id(std::size_t i) const { return ids_.at(i); }
  // The index of the master serving `slot`, as that master says.
  std::size_t owner_of(std::uint16_t slot) {
    for (std::size_t i = 0; i < nodes_.size(); ++i) {
      const redis::reply slots = node(i).command({"CLUSTER", "SLOTS"});
      for (const auto& range : slots.elements) {
        if (range.elements[0].integer <= slot && slot <= range.elements[1].integer &&
            range.elements[2].elements[1].integer == node(i).port()) {
          return i;
        }
      }
    }
    throw std::runtime_error("no master serves the slot");
  }

 private:
  // A node on two new ports (others again when a test running beside this one took them).
  redis_process& start_node() {
    for (int attempt = 0;; ++attempt) {
      const unsigned short port = low_free_port(taken_);
      const unsigned short bus = low_free_port(taken_);
      try {
        nodes_.push_back(std::make_unique<redis_process>(
            "",
            std::vector<std::string>{"--cluster-enabled", "yes", "--cluster-config-file",
                                     (dir_ / ("nodes-" + std::to_string(port) + ".conf")).string(),
                                     "--cluster-port", std::to_string(bus), "--dir", dir_.string(),
                                     "--cluster-node-timeout", "5000"},
            port));
      } catch (const std::runtime_error&) {
        if (attempt == 2) throw;
        continue;
      }
      buses_.push_back(bus);
      return *nodes_.back();
    }
  }
  static void expect_ok(const redis::reply& r) {
    if (r.is_error()) throw std::runtime_error("cluster set-up: " + r.text);
  }
  std::filesystem::path dir_;
  std::vector<std::unique_ptr<redis_process>> nodes_;
  std::vector<unsigned short> buses_;
  std::set<unsigned short> taken_;
  std::vector<std::string> ids_;
  std::vector<std::unique_ptr<held_port>> held_;
};

// Every outcome that was not ok.
struct failures {
  std::mutex mutex;
  std::vector<std::string> seen;
  redis::call_observer observer() {
    return [this](const redis::call_report& report) {
      if (report.outcome == redis::call_outcome::ok) return;
      std::lock_guard lock(mutex);
      seen.push_back(std::string(report.name) + ":" + std::string(to_string(report.outcome)));
    };
  }
  std::vector<std::string> all() {
    std::lock_guard lock(mutex);
    return seen;
  }
};

class RedisClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(redis_server_available())
        << "redis-server is not installed (scripts/install-deps.sh)";
    cluster = std::make_unique<redis_cluster>();
  }
  void TearDown() override {
    work.reset();
    io.stop();
    if (runner.joinable()) runner.join();
  }
  // One seed that is a node and one that is not there (`absent_seed`; when 0, a port held for
  // the test): the map comes from whichever answers.
  redis::client_settings settings(unsigned short absent_seed = 0) {
    redis::client_settings s = test_client_settings();
    s.cluster_seeds = {
        {"127.0.0.1", std::to_string(absent_seed != 0 ? absent_seed : no_server.port())},
        {"127.0.0.1", std::to_string(cluster->node(1).port())}};
    return s;
  }

  static constexpr const char* lost_key = "igw:{lost}:19";
  // The master of the "{lost}" slot, given a replica.
  std::size_t master_ready_to_fail() {
    const std::size_t master = cluster->owner_of(redis::key_slot("lost"));
    cluster->add_replica_of(master);
    return master;
  }
  // igw:{lost}:0…19 (`lost_key` among them) written through the client and on the replica, and
  // failure detection set to `detection` on every node: `master` may be killed.
  bool write_lost_key_everywhere(redis::client& client, std::size_t master,
                                 std::chrono::milliseconds detection = 1000ms) {
    for (int i = 0; i < 20; ++i) {
      if (!call(client, {"SET", "igw:{lost}:" + std::to_string(i), "v"})) return false;
    }
    // Every write reached the replica before the master goes.
    if (cluster->node(master).command({"WAIT", "1", "2000"}).integer != 1) return false;
    for (std::size_t i = 0; i < 4; ++i) {
      if (cluster->node(i)
              .command({"CONFIG", "SET", "cluster-node-timeout", std::to_string(detection.count())})
              .is_error()) {
        return false;
      }
    }
    return true;
  }

  // The lost key read through the client until it answers "v" (20 s at most), and how many
  // answers before that were something else (a nil from a server that is not the key's node).
  struct reread {
    std::optional<redis::reply> last;
    int wrong_answers = 0;
    long long took_ms = 0;
  };
  reread read_lost_key_until_back(redis::client& client) {
    reread out;
    const auto from = steady::now();
    while (steady::now() - from < 20s) {
      out.last = call(client, {"GET", lost_key});
      if (out.last && out.last->text == "v") break;
      if (out.last) ++out.wrong_answers;
      std::this_thread::sleep_for(20ms);
    }
    out.took_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - from).count();
    return out;
  }
  // Says how long `got` took (after `what`), and holds it to the key read back with no other
  // answer before it. Fatal failures stop only this: call it in ASSERT_NO_FATAL_FAILURE.
  static void expect_lost_key_back(const reread& got, std::string_view what) {
    std::cout << "[ measured ] " << what << ": the key read again through the replica after "
              << got.took_ms << " ms (" << got.wrong_answers << " other answers before)\n";
    ASSERT_TRUE(got.last) << "never read again";
    EXPECT_EQ(got.last->text, "v");
    EXPECT_EQ(got.wrong_answers, 0);
  }
  std::optional<redis::reply> call(redis::client& c, std::vector<std::string> args) {
    return asio::co_spawn(io, c.call(std::move(args), "test"), asio::use_future).get();
  }

  std::unique_ptr<redis_cluster> cluster;
  held_port no_server;
  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> work{io.get_executor()};
  std::thread runner{[this] { io.run(); }};
  failures failed;
};

TEST_F(RedisClusterTest, KeysSpreadOverEveryMasterAndAreReadBack) {
  redis::client client(settings(), nullptr, failed.observer());
  ASSERT_TRUE(client.wait_up(10s));
  const redis::script set_script("return redis.call('SET', KEYS[1], ARGV[1])");
  constexpr int keys = 300;
  for (int i = 0; i < keys; ++i) {
    const std::string key = "igw:spread:" + std::to_string(i);
    if (i % 2 == 0) {
      const auto set = call(client, {"SET", key, "v" + std::to_string(i)});
      ASSERT_TRUE(set && set->text == "OK") << key;
    } else {
      const auto run =
          asio::co_spawn(io, client.run(set_script, {key}, {"v" + std::to_string(i)}, "test"),
                         asio::use_future)
              .get();
      ASSERT_TRUE(run && run->text == "OK") << key;
    }
  }
  for (int i = 0; i < keys; ++i) {
    const auto got = call(client, {"GET", "igw:spread:" + std::to_string(i)});
    ASSERT_TRUE(got);
    EXPECT_EQ(got->text, "v" + std::to_string(i));
  }
  EXPECT_TRUE(call(client, {"PING"}));  // keyless: any master
  for (int i = 0; i < 3; ++i) {
    EXPECT_GT(cluster->node(i).command({"DBSIZE"}).integer, 0) << "master " << i;
  }
  EXPECT_TRUE(client.up());
  EXPECT_EQ(failed.all(), std::vector<std::string>{});
}

TEST_F(RedisClusterTest, TwoGatewaysUploadEachImageOnce) {
  fake_origin origin;
  fake_oppo_server oppo;
  std::vector<std::unique_ptr<gateway_under_test>> gateways;
  for (int i = 0; i < 2; ++i) {
    config c = test_config(oppo.base_url());
    c.redis.url = "redis://127.0.0.1:" + std::to_string(cluster->node(i).port());
    c.redis.host = "127.0.0.1";
    c.redis.port = std::to_string(cluster->node(i).port());
    c.redis.mode = redis_mode::cluster;
    c.redis.seeds = {{"127.0.0.1", std::to_string(cluster->node(2).port())}};
    c.redis.key_prefix = "igw-cluster:";
    c.redis.timeout = 500ms;
    gateways.push_back(std::make_unique<gateway_under_test>(c));
  }
  for (auto& gw : gateways) {
    const auto until = steady::now() + 10s;
    while (http_call("GET", gw->url("/metrics")).body.find("\nimage_gateway_redis_up 1") ==
               std::string::npos &&
           steady::now() < until) {
      std::this_thread::sleep_for(20ms);
    }
  }
  constexpr unsigned images = 8;  // pairs: big and small
  for (unsigned seed = 1; seed <= images; ++seed) {
    const std::string big = "/big-" + std::to_string(seed) + ".png";
    const std::string small = "/small-" + std::to_string(seed) + ".png";
    origin.serve(big, samples::png(984, 369, seed));
    origin.serve(small, samples::png(144, 144, seed + 1000));
    const std::string body =
        json{{"big_picture_url", origin.url(big)}, {"small_picture_url", origin.url(small)}}.dump();
    std::vector<client_response> answers(4);
    std::vector<std::thread> threads;
    for (std::size_t i = 0; i < answers.size(); ++i) {
      threads.emplace_back([&, i] { answers[i] = post_images(*gateways[i % 2], body); });
    }
    for (auto& t : threads) t.join();
    std::set<std::string> ids;
    for (const auto& a : answers) {
      ASSERT_EQ(a.status, 200) << a.body << a.error;
      ids.insert(json::parse(a.body).at("big_picture_id").get<std::string>());
    }
    EXPECT_EQ(ids.size(), 1U) << "image " << seed;
  }
  EXPECT_EQ(oppo.api().stats().uploads_accepted, 2 * images) << "one upload per image";
  for (auto& gw : gateways) {
    const std::string metrics = http_call("GET", gw->url("/metrics")).body;
    EXPECT_NE(metrics.find("\nimage_gateway_redis_up 1"), std::string::npos);
    EXPECT_EQ(metrics.find("image_gateway_redis_errors_total{"), std::string::npos)
        << "no failed Redis call";
  }
  for (int i = 0; i < 3; ++i) {
    EXPECT_GT(cluster->node(i).command({"DBSIZE"}).integer, 0) << "master " << i;
  }
}

TEST_F(RedisClusterTest, ASlotMovedUnderAStreamOfCallsLosesNoCall) {
  redis::client client(settings(), nullptr, failed.observer());
  ASSERT_TRUE(client.wait_up(10s));
  const std::uint16_t slot = redis::key_slot("moving");
  const std::size_t from = cluster->owner_of(slot);
  const std::size_t to = (from + 1) % 3;
  const std::size_t other = (from + 2) % 3;
  const redis::script set_script("return redis.call('SET', KEYS[1], ARGV[1])");
  const auto key = [](int i) { return "igw:{moving}:" + std::to_string(i); };

  // The stream: each step writes a new key (by SET or by a script) and reads an older one back.
  std::atomic<bool> stop{false};
  std::atomic<int> written{0};
  std::atomic<int> wrong{0};
  std::thread stream([&] {
    for (int i = 0; !stop; ++i) {
      std::optional<redis::reply> wrote;
      if (i % 2 == 0) {
        wrote = call(client, {"SET", key(i), "v" + std::to_string(i)});
      } else {
        wrote =
            asio::co_spawn(io, client.run(set_script, {key(i)}, {"v" + std::to_string(i)}, "test"),
                           asio::use_future)
                .get();
      }
      if (!wrote || wrote->text != "OK") ++wrong;
      written = i + 1;
      const int old = i / 2;
      const auto read = call(client, {"GET", key(old)});
      if (!read || read->text != "v" + std::to_string(old)) ++wrong;
      std::this_thread::sleep_for(1ms);
    }
  });
  const auto wait_written = [&](int n) {
    const auto until = steady::now() + 10s;
    while (written < n && steady::now() < until) std::this_thread::sleep_for(5ms);
  };
  wait_written(100);
  const int before_move = written;
  const auto move_started = steady::now();
  const std::string s = std::to_string(slot);
  redis_process& source = cluster->node(from);
  redis_process& target = cluster->node(to);
  ASSERT_FALSE(
      target.command({"CLUSTER", "SETSLOT", s, "IMPORTING", cluster->id(from)}).is_error());
  ASSERT_FALSE(source.command({"CLUSTER", "SETSLOT", s, "MIGRATING", cluster->id(to)}).is_error());
  wait_written(written + 50);  // new keys go to the target (ASK)
  for (;;) {
    const redis::reply batch = source.command({"CLUSTER", "GETKEYSINSLOT", s, "20"});
    if (batch.elements.empty()) break;
    std::vector<std::string> migrate = {
        "MIGRATE", "127.0.0.1", std::to_string(target.port()), "", "0", "5000", "KEYS"};
    for (const auto& k : batch.elements) migrate.push_back(k.text);
    ASSERT_FALSE(source.command(migrate).is_error());
    std::this_thread::sleep_for(20ms);  // moved keys are read from the target (ASK)
  }
  for (redis_process* node : {&target, &source, &cluster->node(other)}) {
    ASSERT_FALSE(node->command({"CLUSTER", "SETSLOT", s, "NODE", cluster->id(to)}).is_error());
  }
  const auto move_took = steady::now() - move_started;
  wait_written(written + 100);  // the slot's calls now meet MOVED, once per thread
  stop = true;
  stream.join();
  std::cout << "[ measured ] slot " << slot << " moved in "
            << std::chrono::duration_cast<std::chrono::milliseconds>(move_took).count()
            << " ms with " << written - before_move << " keys written (and as many read) under "
            << "the move and after it, " << wrong << " failed\n";
  if (wrong != 0) {  // what each node held then, to tell where the calls went
    for (std::size_t i = 0; i < 3; ++i) {
      std::cout << "[ node " << i << " ] port " << cluster->node(i).port() << ", "
                << info_field(cluster->node(i).command({"CLUSTER", "INFO"}), "cluster_state")
                << ", " << cluster->node(i).command({"DBSIZE"}).integer << " keys, "
                << cluster->node(i).command({"CLUSTER", "COUNTKEYSINSLOT", s}).integer
                << " in the slot\n";
    }
  }

  EXPECT_EQ(wrong, 0);
  EXPECT_EQ(failed.all(), std::vector<std::string>{});
  EXPECT_TRUE(client.up());
  // Every key is on the target and found through the client.
  EXPECT_EQ(source.command({"CLUSTER", "COUNTKEYSINSLOT", s}).integer, 0);
  EXPECT_EQ(target.command({"CLUSTER", "COUNTKEYSINSLOT", s}).integer, written.load());
  const auto first = call(client, {"GET", key(0)});
  ASSERT_TRUE(first);
  EXPECT_EQ(first->text, "v0");
}

TEST_F(RedisClusterTest, AKilledMasterIsFollowedToTheReplicaThatTookOver) {
  const std::size_t master = master_ready_to_fail();
  redis_process& replica = cluster->node(cluster->size() - 1);
  redis::client client(settings(), nullptr, failed.observer());
  ASSERT_TRUE(client.wait_up(10s));
  ASSERT_TRUE(write_lost_key_everywhere(client, master));
  cluster->kill(master);
  ASSERT_NO_FATAL_FAILURE(expect_lost_key_back(read_lost_key_until_back(client), "master killed"));
  EXPECT_TRUE(client.up());
  EXPECT_EQ(info_field(replica.command({"INFO", "replication"}), "role"), "master");
  // Written again, and to the new master.
  EXPECT_TRUE(call(client, {"SET", "igw:{lost}:new", "w"}));
  EXPECT_EQ(replica.command({"GET", "igw:{lost}:new"}).text, "w");
}

// A killed master's address taken by a server of another cluster (a reused port or pod address)
// before the slot map says who took over: the client checks the node id on every connection and
// never reads another cluster's empty keys, or writes there, in the meantime.
TEST_F(RedisClusterTest, AnotherClusterOnAKilledMastersAddressIsNeverTakenForIt) {
  const std::size_t master = master_ready_to_fail();
  redis::client client(settings(), nullptr, failed.observer());
  ASSERT_TRUE(client.wait_up(10s));
  // Failure detected after 4 s: the other cluster is up on the address well before that.
  ASSERT_TRUE(write_lost_key_everywhere(client, master, 4000ms));
  const unsigned short address = cluster->node(master).port();
  cluster->node(master).kill();
  const std::unique_ptr<redis_process> other = cluster->another_cluster_at(address);
  ASSERT_EQ(other->command({"GET", lost_key}).kind, redis::reply::type::nil);
  ASSERT_NO_FATAL_FAILURE(expect_lost_key_back(read_lost_key_until_back(client),
                                               "another cluster on the killed master's address"));
  EXPECT_TRUE(call(client, {"SET", "igw:{lost}:new", "w"}));
  EXPECT_EQ(other->keys(), std::vector<std::string>{}) << "nothing written to the other cluster";
}

// A seed's address taken by another cluster: when the client sets up again (here after a
// master died) it follows the map of the cluster it knows, not the first seed that answers.
TEST_F(RedisClusterTest, ASeedThatAnswersForAnotherClusterIsNotFollowed) {
  const unsigned short seed = cluster->free_port();
  const std::size_t master = master_ready_to_fail();
  redis::client client(settings(seed), nullptr, failed.observer());
  ASSERT_TRUE(client.wait_up(10s));
  ASSERT_TRUE(write_lost_key_everywhere(client, master));
  const std::unique_ptr<redis_process> other = cluster->another_cluster_at(seed);
  cluster->kill(master);
  ASSERT_NO_FATAL_FAILURE(
      expect_lost_key_back(read_lost_key_until_back(client), "another cluster at a seed"));
  EXPECT_TRUE(call(client, {"SET", "igw:{lost}:new", "w"}));
  EXPECT_EQ(other->keys(), std::vector<std::string>{}) << "nothing written to the other cluster";
}

TEST(RedisClusterMode, APlainServerTakenForAClusterIsDown) {
  ASSERT_TRUE(redis_server_available());
  redis_process plain;
  redis::client_settings s = test_client_settings();
  s.cluster_seeds = {{"127.0.0.1", std::to_string(plain.port())}};
  redis::client client(s, nullptr);
  EXPECT_FALSE(client.wait_up(1500ms)) << "CLUSTER SLOTS is refused by a server without cluster";
  asio::io_context io;
  auto got = asio::co_spawn(io, client.call({"SET", "k", "v"}, "test"), asio::use_future);
  io.run();
  EXPECT_FALSE(got.get());
  EXPECT_EQ(plain.keys(), std::vector<std::string>{}) << "nothing was written";
}

}  // namespace
}  // namespace image_gateway::testing
