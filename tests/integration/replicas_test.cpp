// Three gateways sharing one real redis-server and one fake OPPO (docs/scaling.md): one upload per
// image, one token, one rate limit, and Redis never a reason to fail a request.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "fakes/redis_process.hpp"
#include "fakes/tcp_proxy.hpp"
#include "fakes/test_servers.hpp"
#include "image_gateway/replicas/key_layout.hpp"
#include "image_gateway/replicas/redis_token_store.hpp"
#include "image_gateway/replicas/replay_queue.hpp"
#include "image_gateway/util/sample_images.hpp"
#include "image_gateway/util/sha256.hpp"
#include "support/sanitized.hpp"

namespace image_gateway::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

constexpr const char* limited_app_key = "limited-app";
constexpr const char* limited_app_secret = "limited-secret";
constexpr double limited_rate = 20;
constexpr const char* key_prefix = "igw-test:";

config replica_config(const std::string& oppo_url, const redis_process& redis,
                      std::chrono::milliseconds timeout = 250ms, const std::string& password = "") {
  config c = test_config(oppo_url);
  c.apps.push_back(
      {limited_app_key, limited_app_secret, fake_oppo_server::default_oppo_app(), limited_rate});
  c.redis.url = redis.url();
  c.redis.host = "127.0.0.1";
  c.redis.port = std::to_string(redis.port());
  c.redis.password = password;
  c.redis.key_prefix = key_prefix;
  c.redis.timeout = timeout;
  c.redis.expected_replicas = 3;
  return c;
}

client_response post_limited(gateway_under_test& gw, const std::string& body = "{}") {
  return http_call("POST", gw.url("/v4/image/oppo"), body,
                   {basic_header(limited_app_key, limited_app_secret)});
}

// The value of an unlabelled metric line, -1 when absent.
double metric(gateway_under_test& gw, const std::string& name) {
  const std::string text = http_call("GET", gw.url("/metrics")).body;
  const auto at = text.find("\n" + name + " ");
  if (at == std::string::npos) return -1;
  return std::stod(text.substr(at + name.size() + 2));
}

// Waits (bounded) until every replica reports image_gateway_redis_up = `up`; the time taken.
std::chrono::milliseconds wait_redis_up(std::vector<std::unique_ptr<gateway_under_test>>& gws,
                                        bool up, std::chrono::milliseconds at_most = 10s) {
  const auto start = steady::now();
  for (;;) {
    bool all = true;
    for (auto& gw : gws) all = all && metric(*gw, "image_gateway_redis_up") == (up ? 1 : 0);
    const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - start);
    if (all || took > at_most) return took;
    std::this_thread::sleep_for(20ms);
  }
}

class ReplicasTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Not a skip: scripts/install-deps.sh installs redis-server, a machine without it is broken.
    ASSERT_TRUE(redis_server_available())
        << "redis-server is not installed (scripts/install-deps.sh)";
  }

  void start_replicas(std::unique_ptr<redis_process> server,
                      std::chrono::milliseconds timeout = 250ms, const std::string& password = "") {
    redis = std::move(server);
    for (int i = 0; i < 3; ++i) {
      replicas.push_back(std::make_unique<gateway_under_test>(
          replica_config(oppo.base_url(), *redis, timeout, password)));
    }
    ASSERT_LT(wait_redis_up(replicas, password.empty()), 10s);
  }
  void start_replicas() { start_replicas(std::make_unique<redis_process>()); }

  // A new pair of images (distinct bytes for each seed), served by the origin.
  std::string new_images(unsigned seed) {
    const std::string big = "/big-" + std::to_string(seed) + ".png";
    const std::string small = "/small-" + std::to_string(seed) + ".png";
    origin.serve(big, samples::png(984, 369, seed));
    origin.serve(small, samples::png(144, 144, seed + 1000));
    return json{{"big_picture_url", origin.url(big)}, {"small_picture_url", origin.url(small)}}
        .dump();
  }

  // `per_replica` requests at once on every replica; the answers.
  std::vector<client_response> all_at_once(const std::string& body, int per_replica) {
    std::vector<client_response> answers(replicas.size() * per_replica);
    std::vector<std::thread> threads;
    for (std::size_t i = 0; i < answers.size(); ++i) {
      threads.emplace_back(
          [&, i] { answers[i] = post_images(*replicas[i % replicas.size()], body); });
    }
    for (auto& t : threads) t.join();
    return answers;
  }

  fake_origin origin;
  fake_oppo_server oppo;
  std::unique_ptr<redis_process> redis;
  std::vector<std::unique_ptr<gateway_under_test>> replicas;
};

TEST_F(ReplicasTest, ConcurrentRequestsAcrossReplicasUploadEachImageOnce) {
  start_replicas();
  oppo.api().set_delay(300ms);  // every upload overlaps the others' requests
  const std::string body = new_images(1);
  const auto answers = all_at_once(body, 3);
  std::set<std::string> big_ids;
  for (const auto& a : answers) {
    ASSERT_EQ(a.status, 200) << a.body << a.error;
    big_ids.insert(json::parse(a.body).at("big_picture_id").get<std::string>());
  }
  EXPECT_EQ(big_ids.size(), 1U) << "every request got the one uploaded id";
  EXPECT_EQ(oppo.api().stats().uploads_accepted, 2U) << "one upload per image";
  EXPECT_EQ(oppo.api().stats().auth_requests, 1U);
  // And afterwards each replica answers from the cache.
  for (auto& gw : replicas) EXPECT_EQ(post_images(*gw, body).header("x-cache"), "hit");
  EXPECT_EQ(oppo.api().stats().uploads_accepted, 2U);
}

TEST_F(ReplicasTest, AnImageUploadedByOneReplicaIsAHitOnTheOthers) {
  start_replicas();
  const std::string body = new_images(2);
  ASSERT_EQ(post_images(*replicas[0], body).header("x-cache"), "miss");
  for (int i = 1; i < 3; ++i) {
    const auto answer = post_images(*replicas[i], body);
    ASSERT_EQ(answer.status, 200) << answer.body;
    EXPECT_EQ(answer.header("x-cache"), "hit");
  }
  EXPECT_EQ(oppo.api().stats().uploads_accepted, 2U);
}

TEST_F(ReplicasTest, WithinOneReplicaConcurrentRequestsShareOneUploadWithoutRedis) {
  // No Redis at all: the single flight inside one replica still holds.
  config settings = test_config(oppo.base_url());
  gateway_under_test gw(settings, 2);
  oppo.api().set_delay(300ms);
  const std::string body = new_images(3);
  std::vector<client_response> answers(6);
  std::vector<std::thread> threads;
  for (auto& a : answers) threads.emplace_back([&] { a = post_images(gw, body); });
  for (auto& t : threads) t.join();
  for (const auto& a : answers) ASSERT_EQ(a.status, 200) << a.body << a.error;
  EXPECT_EQ(oppo.api().stats().uploads_accepted, 2U);
}

TEST_F(ReplicasTest, FirstUploadsOnThreeReplicasMakeOneAuthCall) {
  start_replicas();
  oppo.api().set_delay(200ms);
  std::vector<client_response> answers(3);
  std::vector<std::string> bodies = {new_images(10), new_images(11), new_images(12)};
  std::vector<std::thread> threads;
  for (int i = 0; i < 3; ++i) {
    threads.emplace_back([&, i] { answers[i] = post_images(*replicas[i], bodies[i]); });
  }
  for (auto& t : threads) t.join();
  for (const auto& a : answers) ASSERT_EQ(a.status, 200) << a.body << a.error;
  EXPECT_EQ(oppo.api().stats().auth_requests, 1U);
  EXPECT_EQ(oppo.api().stats().uploads_accepted, 6U);
}

TEST_F(ReplicasTest, ARefusedTokenIsRefreshedOnceInTotal) {
  start_replicas();
  for (int i = 0; i < 3; ++i) ASSERT_EQ(post_images(*replicas[i], new_images(20 + i)).status, 200);
  ASSERT_EQ(oppo.api().stats().auth_requests, 1U);
  oppo.api().revoke_tokens();  // every replica's token now answers 11
  std::vector<client_response> answers(6);
  std::vector<std::string> bodies;
  for (int i = 0; i < 6; ++i) bodies.push_back(new_images(30 + i));
  std::vector<std::thread> threads;
  for (int i = 0; i < 6; ++i) {
    threads.emplace_back([&, i] { answers[i] = post_images(*replicas[i % 3], bodies[i]); });
  }
  for (auto& t : threads) t.join();
  for (const auto& a : answers) ASSERT_EQ(a.status, 200) << a.body << a.error;
  EXPECT_EQ(oppo.api().stats().auth_requests, 2U) << "one refresh for all replicas";
}

TEST_F(ReplicasTest, RateLimitHoldsAcrossReplicas) {
  start_replicas();
  constexpr int threads_count = 6;
  const auto window = 3s;
  std::atomic<int> allowed{0};
  std::atomic<int> refused{0};
  std::atomic<int> other{0};
  std::atomic<bool> headers_ok{true};
  const auto start = steady::now();
  std::vector<std::thread> threads;
  for (int t = 0; t < threads_count; ++t) {
    threads.emplace_back([&, t] {
      for (int i = t; steady::now() - start < window; ++i) {
        const auto a = post_limited(*replicas[i % 3]);
        if (a.status == 429) {
          ++refused;
          if (a.header("retry-after").empty() || a.header("x-rate-limit-limit") != "20") {
            headers_ok = false;
          }
        } else if (a.status == 400) {
          ++allowed;  // past the rate limit: the empty body is 23002
        } else {
          ++other;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  const double seconds = std::chrono::duration<double>(steady::now() - start).count();
  const double ceiling = (limited_rate * seconds + limited_rate) * 1.05;
  EXPECT_EQ(other.load(), 0);
  EXPECT_GT(refused.load(), 0) << "the load was over the limit";
  EXPECT_LE(allowed.load(), ceiling) << "over " << seconds << " s";
  // Three separate buckets would allow about three times as much; one shared bucket lets
  // through nearly rate x T.
  EXPECT_GE(allowed.load(), 0.8 * limited_rate * seconds) << "over " << seconds << " s";
  EXPECT_TRUE(headers_ok.load());
}

TEST_F(ReplicasTest, ARateLimitedAppUploadsThroughTheSharedBucket) {
  start_replicas();
  // Requests past the shared bucket go on to fetch and upload (the path after the Redis call).
  std::vector<std::string> bodies;
  for (int i = 0; i < 9; ++i) bodies.push_back(new_images(200 + i));
  std::vector<client_response> answers(bodies.size());
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < bodies.size(); ++i) {
    threads.emplace_back([&, i] { answers[i] = post_limited(*replicas[i % 3], bodies[i]); });
  }
  for (auto& t : threads) t.join();
  for (const auto& a : answers) {
    ASSERT_EQ(a.status, 200) << a.body << a.error;
    EXPECT_EQ(a.header("x-rate-limit-limit"), "20");
    EXPECT_FALSE(a.header("x-rate-limit-remaining").empty());
    EXPECT_EQ(json::parse(a.body).size(), 2U);
  }
  EXPECT_EQ(oppo.api().stats().uploads_accepted, 18U);
}

// The shared rate limit is decided on the header, as the local one is: past it, a request is
// answered 429 with its rate headers before its body is invited (no 100 Continue) or read.
TEST_F(ReplicasTest, TheSharedRateLimitRefusesOnTheHeaderBeforeTheBody) {
  redis = std::make_unique<redis_process>();
  config c = replica_config(oppo.base_url(), *redis);
  c.apps.back().rate_limit_per_s = 1;
  replicas.push_back(std::make_unique<gateway_under_test>(c));
  ASSERT_LT(wait_redis_up(replicas, true), 10s);

  client_response limited;
  for (int i = 0; i < 10 && limited.status != 429; ++i) limited = post_limited(*replicas[0]);
  ASSERT_EQ(limited.status, 429) << "the burst was spent";
  EXPECT_EQ(json::parse(limited.body)["error"].value("code", 0), 2002);
  EXPECT_EQ(limited.header("x-rate-limit-limit"), "1");
  EXPECT_EQ(limited.header("x-rate-limit-remaining"), "0");
  EXPECT_FALSE(limited.header("x-rate-limit-reset").empty());
  EXPECT_FALSE(limited.header("retry-after").empty());

  // Only the header of a large image form is sent (within the multipart body limit, so only the
  // rate limit can refuse it): the answer must come without the body.
  const auto header_only = [&](const std::string& extra_lines) {
    return "POST /v4/image/oppo HTTP/1.1\r\nHost: 127.0.0.1\r\n" +
           basic_header(limited_app_key, limited_app_secret) +
           "\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: 1000000\r\n" +
           extra_lines + "\r\n";
  };
  for (const std::string extra : {"Expect: 100-continue\r\n", ""}) {
    raw_connection client(replicas[0]->port());
    ASSERT_TRUE(client.send(header_only(extra)));
    const raw_response answer = client.read_response();
    EXPECT_EQ(answer.status, 429) << extra << answer.status_line << answer.error;
    EXPECT_EQ(answer.header("x-rate-limit-limit"), "1") << extra;
    EXPECT_FALSE(answer.header("retry-after").empty()) << extra;
    EXPECT_TRUE(client.closed_by_peer()) << "the unread body is not waited for: " << extra;
  }
  // Decided by the shared bucket (Redis holds it), not the local fallback.
  EXPECT_EQ(metric(*replicas[0], "image_gateway_redis_up"), 1);
  const auto keys = redis->keys();
  EXPECT_TRUE(std::any_of(keys.begin(), keys.end(), [](const std::string& key) {
    return key.starts_with(std::string(key_prefix) + "rate:");
  }));
}

TEST_F(ReplicasTest, RedisKilledMidTrafficFailsNoRequestAndSharingComesBack) {
  start_replicas();
  const std::string cached = new_images(40);
  ASSERT_EQ(post_images(*replicas[0], cached).status, 200);
  std::atomic<bool> stop{false};
  std::atomic<int> failures{0};
  std::atomic<int> answered{0};
  std::atomic<unsigned> seed{1000};
  std::vector<std::thread> threads;
  std::mutex failure_mutex;
  std::string failure_text;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = t; !stop; ++i) {
        gateway_under_test& gw = *replicas[i % 3];
        client_response a;
        bool ok = false;
        if (t == 0) {
          a = post_limited(gw);
          ok = a.status == 400 || a.status == 429;
        } else if (t == 1) {
          std::string body;
          {
            const std::lock_guard lock(failure_mutex);
            body = new_images(seed += 2);
          }
          a = post_images(gw, body);
          ok = a.status == 200;
        } else {
          a = post_images(gw, cached);
          ok = a.status == 200;
        }
        ++answered;
        if (!ok) {
          ++failures;
          const std::lock_guard lock(failure_mutex);
          failure_text = std::to_string(a.status) + " " + a.body + a.error;
        }
      }
    });
  }
  std::this_thread::sleep_for(700ms);
  redis->kill();
  std::this_thread::sleep_for(700ms);
  redis->restart();
  const auto back = wait_redis_up(replicas, true);
  std::this_thread::sleep_for(300ms);
  stop = true;
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0) << failure_text;
  EXPECT_GT(answered.load(), 20);
  EXPECT_LE(back, 2000ms) << "shared behaviour back within 2 s of Redis";
  for (auto& gw : replicas) {
    EXPECT_EQ(http_call("GET", gw->url("/readyz")).status, 200);
    const std::string log = gw->log_output();
    std::size_t warns = 0;
    for (auto at = log.find("Redis unavailable"); at != std::string::npos;
         at = log.find("Redis unavailable", at + 1)) {
      ++warns;
    }
    EXPECT_EQ(warns, 1U) << "one warn line per loss";
    EXPECT_GE(metric(*gw, "image_gateway_redis_errors_total{reason=\"down\"}"), 0);
  }
  // Shared again: a new image asked for on every replica at once is uploaded once.
  oppo.api().set_delay(300ms);
  const auto before = oppo.api().stats().uploads_accepted;
  for (const auto& a : all_at_once(new_images(99), 2)) ASSERT_EQ(a.status, 200) << a.body;
  EXPECT_EQ(oppo.api().stats().uploads_accepted - before, 2U);
}

TEST_F(ReplicasTest, AFrozenRedisCostsAtMostItsTimeOut) {
  constexpr auto redis_timeout = 100ms;
  start_replicas(std::make_unique<redis_process>(), redis_timeout);
  // Normal time of a request that needs Redis (a rate-limited one) and of a new upload.
  const auto timed = [](auto&& call) {
    const auto start = steady::now();
    const client_response a = call();
    return std::make_pair(a, steady::now() - start);
  };
  std::chrono::nanoseconds normal{0};
  for (int i = 0; i < 3; ++i) {
    const auto [a, took] = timed([&] { return post_images(*replicas[i], new_images(50 + i)); });
    ASSERT_EQ(a.status, 200);
    normal = std::max<std::chrono::nanoseconds>(normal, took);
  }
  redis->freeze();
  // Generous for a loaded machine, far below the request deadline (5 s): what must not happen
  // is a request waiting on Redis for longer than its time-out, or several time-outs in a row.
  const auto bound = normal + redis_timeout + 1500ms;
  for (int i = 0; i < 9; ++i) {
    const auto [upload, upload_took] =
        timed([&] { return post_images(*replicas[i % 3], new_images(60 + 2 * i)); });
    EXPECT_EQ(upload.status, 200) << upload.body << upload.error;
    EXPECT_LT(upload_took, bound);
    const auto [limited, limited_took] = timed([&] { return post_limited(*replicas[i % 3]); });
    EXPECT_TRUE(limited.status == 400 || limited.status == 429) << limited.status;
    EXPECT_LT(limited_took, bound);
  }
  for (auto& gw : replicas) EXPECT_EQ(http_call("GET", gw->url("/readyz")).status, 200);
  EXPECT_LT(wait_redis_up(replicas, false), 10s);
  redis->thaw();
  EXPECT_LE(wait_redis_up(replicas, true), 2000ms);
}

TEST_F(ReplicasTest, AWrongPasswordStillServesAndIsNeverLogged) {
  const std::string wrong = "wrong-password-4711";
  start_replicas(std::make_unique<redis_process>("right-password-0815"), 250ms, wrong);
  const std::string body = new_images(70);
  for (auto& gw : replicas) {
    const auto a = post_images(*gw, body);
    EXPECT_EQ(a.status, 200) << a.body << a.error;
    EXPECT_EQ(http_call("GET", gw->url("/readyz")).status, 200);
    EXPECT_EQ(metric(*gw, "image_gateway_redis_up"), 0);
    const std::string log = gw->log_output();
    EXPECT_NE(log.find("Redis unavailable"), std::string::npos);
    EXPECT_NE(log.find("WRONGPASS"), std::string::npos) << log;
    EXPECT_EQ(log.find(wrong), std::string::npos) << "the password is never logged";
    EXPECT_EQ(log.find("right-password"), std::string::npos);
  }
  // Alone, each replica uploads for itself.
  EXPECT_EQ(oppo.api().stats().uploads_accepted, 6U);
  EXPECT_TRUE(redis->keys().empty());
}

TEST_F(ReplicasTest, EveryKeyHasThePrefixAnExpiryAndNoSecret) {
  start_replicas();
  for (int i = 0; i < 3; ++i) ASSERT_EQ(post_images(*replicas[i], new_images(80 + i)).status, 200);
  for (int i = 0; i < 5; ++i) post_limited(*replicas[i % 3]);
  const auto keys = redis->keys();
  std::set<std::string> kinds;
  for (const std::string& key : keys) {
    EXPECT_TRUE(key.starts_with(key_prefix)) << key;
    const auto ttl = redis->command({"PTTL", key});
    EXPECT_GT(ttl.integer, 0) << key << " has no expiry";
    const auto value = redis->command({"GET", key});
    EXPECT_LT(value.text.size(), 512U) << key << ": no image bytes";
    for (const std::string secret : {test_app_secret, limited_app_secret, "oppo-test-secret"}) {
      EXPECT_EQ(value.text.find(secret), std::string::npos) << key;
      EXPECT_EQ(key.find(secret), std::string::npos) << key;
    }
    EXPECT_EQ(key.find("oppo-test-app"), std::string::npos) << "app keys only hashed: " << key;
    // One hash tag per key, around the unit a script changes.
    const auto open = key.find('{');
    EXPECT_NE(open, std::string::npos) << key;
    EXPECT_EQ(key.find('{', open + 1), std::string::npos) << key;
    kinds.insert(
        key.substr(std::string(key_prefix).size(),
                   key.find(':', std::string(key_prefix).size()) - std::string(key_prefix).size()));
  }
  EXPECT_EQ(kinds, (std::set<std::string>{"rate", "token", "upload", "epoch", "writable"}));
  EXPECT_EQ(keys.size(), 3U * 2 + 1 + 1 + 1 + 1)
      << "six ids, one token, one rate bucket, the epoch, the write probe; no lock left";
  // The memory figure of docs/scaling.md#cost-and-memory: one cached id.
  for (const std::string& key : keys) {
    if (key.find("upload:") == std::string::npos) continue;
    const auto bytes = redis->command({"MEMORY", "USAGE", key});
    std::cout << "MEMORY USAGE of one cached id (" << key.size() << "-byte key): " << bytes.integer
              << " bytes\n";
    EXPECT_LT(bytes.integer, 400);
    break;
  }
}

TEST_F(ReplicasTest, JunkUnderOurKeysIsIgnoredAndOverwritten) {
  start_replicas();
  const replicas::key_layout layout(key_prefix);
  const std::string big = samples::png(984, 369, 90);
  origin.serve("/junk-big.png", big);
  const upload_key id_key{sha256_hex(big), image_kind::big, "oppo-test-app"};
  redis->command({"SET", layout.upload(id_key), std::string("\x01junk\x02", 6)});  // no TTL
  redis->command({"SET", layout.upload_lock(id_key), "stale-lock-without-ttl"});
  redis->command({"SET", layout.token("oppo-test-app"), "{not json"});
  redis->command({"HSET", layout.rate(limited_app_key), "field", "value"});  // another type
  const std::string body = json{{"big_picture_url", origin.url("/junk-big.png")}}.dump();
  const auto a = post_images(*replicas[0], body);
  ASSERT_EQ(a.status, 200) << a.body << a.error;
  EXPECT_EQ(post_limited(*replicas[1]).status, 400);
  const auto id = redis->command({"GET", layout.upload(id_key)});
  EXPECT_EQ(id.text, json::parse(a.body).at("big_picture_id").get<std::string>());
  EXPECT_GT(redis->command({"PTTL", layout.upload(id_key)}).integer, 0);
  EXPECT_TRUE(redis->command({"GET", layout.upload_lock(id_key)}).is_nil());
  const auto token = redis->command({"GET", layout.token("oppo-test-app")});
  EXPECT_TRUE(json::parse(token.text, nullptr, false).is_object()) << token.text;
  EXPECT_GT(redis->command({"PTTL", layout.token("oppo-test-app")}).integer, 0);
  EXPECT_EQ(redis->command({"TYPE", layout.rate(limited_app_key)}).text, "string");
  EXPECT_GT(redis->command({"PTTL", layout.rate(limited_app_key)}).integer, 0);
  // A second replica finds the good id.
  EXPECT_EQ(post_images(*replicas[2], body).header("x-cache"), "hit");
}

TEST_F(ReplicasTest, StartsWithoutRedisAndSharesOnceItComes) {
  auto server = std::make_unique<redis_process>();
  server->kill();  // the port is known, nothing listens
  redis = std::move(server);
  for (int i = 0; i < 3; ++i) {
    replicas.push_back(
        std::make_unique<gateway_under_test>(replica_config(oppo.base_url(), *redis)));
  }
  for (auto& gw : replicas) {
    EXPECT_EQ(http_call("GET", gw->url("/readyz")).status, 200);
    EXPECT_EQ(post_images(*gw, new_images(100)).status, 200);
  }
  EXPECT_LT(wait_redis_up(replicas, false), 10s);
  redis->restart();
  EXPECT_LE(wait_redis_up(replicas, true), 2000ms);
  for (auto& gw : replicas) {
    EXPECT_NE(gw->log_output().find("Redis connected"), std::string::npos);
  }
}

// ---- Locks are leases (issue 17) ----
// The old locks lived the request deadline + 0.5 s: with a 20 s deadline, every case below would
// leave the second replica waiting ~20 s and answering 503. Bounds are a quarter of the deadline,
// so a loaded machine cannot make them flake, and far above one lease.
constexpr auto lease = 1000ms;
constexpr auto long_deadline = 20s;

// A replica with a short lease and a long deadline; Redis at `redis_port` (a proxy, say).
config leased_replica(config c, unsigned short redis_port) {
  c.redis.lock_lease = lease;
  c.server.request_deadline = long_deadline;
  c.redis.port = std::to_string(redis_port);
  c.redis.url = "redis://127.0.0.1:" + c.redis.port;
  return c;
}

unsigned short port_of(const std::string& base_url) {
  return static_cast<unsigned short>(std::stoi(base_url.substr(base_url.rfind(':') + 1)));
}

template <typename Predicate>
bool eventually(Predicate ready, std::chrono::milliseconds at_most = 10s) {
  const auto until = steady::now() + at_most;
  while (!ready()) {
    if (steady::now() > until) return false;
    std::this_thread::sleep_for(20ms);
  }
  return true;
}

std::string big_id(const client_response& answer) {
  return json::parse(answer.body).at("big_picture_id").get<std::string>();
}

class LeaseTest : public ReplicasTest {
 protected:
  // One big picture (seed), its body and its Redis keys.
  std::string image_body(unsigned seed) {
    const std::string bytes = samples::png(984, 369, seed);
    const std::string path = "/lease-" + std::to_string(seed) + ".png";
    origin.serve(path, bytes);
    const upload_key key{sha256_hex(bytes), image_kind::big, "oppo-test-app"};
    id_key = layout.upload(key);
    lock_key = layout.upload_lock(key);
    return json{{"big_picture_url", origin.url(path)}}.dump();
  }
  bool held(const std::string& key) const { return !redis->command({"GET", key}).is_nil(); }
  std::chrono::milliseconds timed_post(gateway_under_test& gw, const std::string& body,
                                       client_response& answer) {
    const auto start = steady::now();
    answer = post_images(gw, body);
    return std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - start);
  }

  // Replica 0 reaches OPPO's auth (or media) endpoint through `stalled` only; replica 1 directly.
  void start_doomed_pair(const tcp_proxy& stalled, bool auth) {
    redis = std::make_unique<redis_process>();
    config doomed = leased_replica(replica_config(oppo.base_url(), *redis), redis->port());
    (auth ? doomed.oppo.auth_base_url : doomed.oppo.media_base_url) =
        "http://127.0.0.1:" + std::to_string(stalled.port());
    doomed.oppo.timeout = 15s;
    replicas.push_back(std::make_unique<gateway_under_test>(doomed));
    replicas.push_back(std::make_unique<gateway_under_test>(
        leased_replica(replica_config(oppo.base_url(), *redis), redis->port())));
    ASSERT_LT(wait_redis_up(replicas, true), 10s);
  }

  // Replica 0 starts a request for `body` whose OPPO call never ends while it holds `lock`: the
  // lease is renewed meanwhile (still held after two leases). The client connection, to keep.
  std::unique_ptr<raw_connection> stall_holding(tcp_proxy& stalled, const std::string& body,
                                                const std::string& lock) {
    stalled.freeze();
    auto client = std::make_unique<raw_connection>(replicas[0]->port());
    EXPECT_TRUE(client->send(raw_post("1.1", body)));
    EXPECT_TRUE(eventually([&] { return held(lock); })) << "replica 0 took " << lock;
    std::this_thread::sleep_for(2 * lease);
    EXPECT_TRUE(held(lock)) << "the lease is renewed while its owner works";
    EXPECT_LE(redis->command({"PTTL", lock}).integer, lease / 1ms);
    return client;
  }

  // Replica 1 asks for `body` while replica 0 holds the lock it needs; replica 0 is killed (its
  // threads stop at once, as with SIGKILL) a quarter lease later. Replica 1 must go on within
  // about a lease of the kill.
  void wait_behind_a_kill(const std::string& body, client_response& answer,
                          const std::string& killed_one) {
    steady::time_point answered;
    std::thread other([&] {
      answer = post_images(*replicas[1], body);
      answered = steady::now();
    });
    std::this_thread::sleep_for(lease / 4);
    const auto killed = steady::now();
    replicas[0]->server().io().stop();
    other.join();
    replicas[0].reset();
    const auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(answered - killed);
    ASSERT_EQ(answer.status, 200) << answer.body << answer.error;
    std::cout << "another replica's wait after " << killed_one << " was killed: " << waited.count()
              << " ms (lease " << lease.count() << " ms)\n";
    EXPECT_LT(waited, long_deadline / 4);
  }

  const replicas::key_layout layout{key_prefix};
  std::string id_key;
  std::string lock_key;
};

TEST_F(LeaseTest, AClaimAnsweredTooLateHoldsNoOtherReplicaPastTheLease) {
  redis = std::make_unique<redis_process>();
  tcp_proxy slow(redis->port());
  replicas.push_back(std::make_unique<gateway_under_test>(
      leased_replica(replica_config(oppo.base_url(), *redis, 100ms), slow.port())));
  replicas.push_back(std::make_unique<gateway_under_test>(
      leased_replica(replica_config(oppo.base_url(), *redis, 100ms), redis->port())));
  ASSERT_LT(wait_redis_up(replicas, true), 10s);
  // Redis knows the scripts already (else the late answer would be NOSCRIPT, and nothing ran).
  ASSERT_EQ(post_images(*replicas[0], image_body(299)).status, 200);
  const std::string body = image_body(300);
  // Redis runs replica 0's claim at once, but its answer comes after redis.timeout_ms.
  slow.delay_replies_after(lock_key, 1500ms);
  client_response alone;
  timed_post(*replicas[0], body, alone);
  ASSERT_EQ(alone.status, 200) << alone.body << alone.error;
  ASSERT_TRUE(slow.marker_seen()) << "the claim went out";
  // The lock is replica 0's, whose claim timed out: it lives one lease, not a deadline.
  EXPECT_LE(redis->command({"PTTL", lock_key}).integer, lease / 1ms);
  client_response other;
  const auto waited = timed_post(*replicas[1], body, other);
  ASSERT_EQ(other.status, 200) << other.body << other.error;
  std::cout << "another replica's wait behind a claim answered too late: " << waited.count()
            << " ms (lease " << lease.count() << " ms)\n";
  EXPECT_LT(waited, long_deadline / 4);
  EXPECT_EQ(oppo.api().stats().uploads_accepted, 3U) << "replica 0 alone, then replica 1";
  // Redis answers in time again: replica 0 ends its claim, finds replica 1's id and adopts it.
  slow.clear();
  EXPECT_TRUE(eventually([&] {
    const auto a = post_images(*replicas[0], body);
    return a.status == 200 && big_id(a) == big_id(other);
  })) << "replica 0 answers the id Redis holds";
  EXPECT_EQ(big_id(post_images(*replicas[1], body)), big_id(other));
  EXPECT_EQ(oppo.api().stats().uploads_accepted, 3U);
  EXPECT_TRUE(eventually([&] { return !held(lock_key); }, 3s)) << "no lock left";
}

TEST_F(LeaseTest, AReplicaKilledMidUploadHoldsTheOthersBackOneLeaseAtMost) {
#ifdef IGW_SANITIZED
  // The kill is simulated in this process: the killed replica's coroutines that wait on its
  // OPPO call are abandoned with it, which a real SIGKILL takes away with the process and
  // LeakSanitizer reports as leaks. The kill tests run in the debug build.
  GTEST_SKIP() << "an in-process kill abandons coroutine frames LeakSanitizer would report";
#endif
  tcp_proxy stalled_media(port_of(oppo.base_url()));
  start_doomed_pair(stalled_media, false);
  const std::string body = image_body(310);
  const auto doomed = stall_holding(stalled_media, body, lock_key);
  client_response taken_over;
  wait_behind_a_kill(body, taken_over, "the uploader");
  EXPECT_EQ(oppo.api().stats().uploads_accepted, 1U) << "the killed upload never reached OPPO";
  EXPECT_EQ(redis->command({"GET", id_key}).text, big_id(taken_over));
}

TEST_F(LeaseTest, AReplicaKilledMidTokenRefreshHoldsTheOthersBackOneLeaseAtMost) {
#ifdef IGW_SANITIZED
  // The kill is simulated in this process: the killed replica's coroutines that wait on its
  // OPPO call are abandoned with it, which a real SIGKILL takes away with the process and
  // LeakSanitizer reports as leaks. The kill tests run in the debug build.
  GTEST_SKIP() << "an in-process kill abandons coroutine frames LeakSanitizer would report";
#endif
  tcp_proxy stalled_auth(port_of(oppo.base_url()));
  start_doomed_pair(stalled_auth, true);
  const auto doomed =
      stall_holding(stalled_auth, image_body(320), layout.token_lock("oppo-test-app"));
  // Replica 1 needs a token too (for another image).
  client_response answer;
  wait_behind_a_kill(image_body(321), answer, "the token refresher");
  EXPECT_EQ(oppo.api().stats().auth_requests, 1U) << "the killed refresh never reached OPPO";
  EXPECT_EQ(oppo.api().stats().uploads_accepted, 1U);
}

TEST_F(LeaseTest, AnIdUploadedWhileRedisWasFrozenBecomesEveryReplicasId) {
  redis = std::make_unique<redis_process>();
  for (int i = 0; i < 3; ++i) {
    replicas.push_back(std::make_unique<gateway_under_test>(
        leased_replica(replica_config(oppo.base_url(), *redis, 100ms), redis->port())));
  }
  ASSERT_LT(wait_redis_up(replicas, true), 10s);
  const std::string body = image_body(330);
  redis->freeze();
  const auto alone = post_images(*replicas[0], body);
  ASSERT_EQ(alone.status, 200) << alone.body << alone.error;
  redis->thaw();
  // Once Redis is back, the id uploaded alone is written there ...
  EXPECT_TRUE(eventually([&] {
    return redis->command({"GET", id_key}).text == big_id(alone);
  })) << "the id uploaded alone reached Redis";
  EXPECT_GT(redis->command({"PTTL", id_key}).integer, 0);
  // ... and every replica answers it, without another upload.
  for (auto& gw : replicas) {
    client_response a;
    const auto waited = timed_post(*gw, body, a);
    ASSERT_EQ(a.status, 200) << a.body << a.error;
    EXPECT_EQ(big_id(a), big_id(alone));
    EXPECT_LT(waited, long_deadline / 4);
  }
  EXPECT_EQ(oppo.api().stats().uploads_accepted, 1U);
  EXPECT_TRUE(eventually([&] { return !held(lock_key); }, 3s)) << "no lock left";
}

TEST_F(LeaseTest, AfterRedisRestartsEmptyTheReplicasKeepTheOneIdTheyHad) {
  start_replicas();
  const std::string body = image_body(340);
  const auto first = post_images(*replicas[0], body);
  ASSERT_EQ(first.status, 200) << first.body << first.error;
  ASSERT_EQ(post_images(*replicas[1], body).header("x-cache"), "hit");
  redis->restart();  // empty
  ASSERT_LT(wait_redis_up(replicas, true), 10s);
  // The replicas that hold the id write it to the new Redis while they serve requests ...
  EXPECT_TRUE(eventually([&] {
    for (int i = 0; i < 2; ++i) EXPECT_EQ(big_id(post_images(*replicas[i], body)), big_id(first));
    return redis->command({"GET", id_key}).text == big_id(first);
  })) << "the id came back to Redis";
  // ... so the replica that never had it finds it instead of uploading it once more.
  const auto third = post_images(*replicas[2], body);
  ASSERT_EQ(third.status, 200) << third.body << third.error;
  EXPECT_EQ(big_id(third), big_id(first));
  EXPECT_EQ(third.header("x-cache"), "hit");
  EXPECT_EQ(oppo.api().stats().uploads_accepted, 1U);
}

// KEYS[1] a list; ARGV[1] a word: appended. Answers the list's length.
const redis::script append_script("return redis.call('RPUSH', KEYS[1], ARGV[1])");

TEST(ReplayQueue, KeepsTheNewestWritesWhileRedisIsAwayAndRunsThemInOrderOnceItIsBack) {
  ASSERT_TRUE(redis_server_available());
  auto server = std::make_unique<redis_process>();
  const unsigned short port = server->port();
  server->kill();  // not there yet
  boost::asio::io_context io;
  auto work = boost::asio::make_work_guard(io);
  std::thread runner([&] { io.run(); });
  std::atomic<int> answered{0};
  {
    redis::client_settings settings;
    settings.host = "127.0.0.1";
    settings.port = std::to_string(port);
    settings.timeout = 1000ms;
    redis::client client(settings, nullptr);
    replicas::replay_queue queue(client, 3);
    const auto push = [&](const std::string& word, std::optional<steady::time_point> until) {
      queue.push({&append_script,
                  {"replayed"},
                  {word},
                  "test_append",
                  until,
                  [&](const redis::reply& r) {
                    if (r.kind == redis::reply::type::integer) ++answered;
                  }},
                 io.get_executor());
    };
    for (const std::string word : {"one", "two", "three", "four"}) push(word, {});
    push("expired", steady::now() - 1ms);  // pointless by the time Redis answers: dropped
    EXPECT_EQ(queue.size(), 3U) << "at most the capacity waits";
    EXPECT_EQ(queue.dropped(), 2U) << "the oldest go first";
    server->restart();
    ASSERT_TRUE(client.wait_up(10s));
    EXPECT_TRUE(eventually([&] { return queue.size() == 0 && answered == 2; }));
    const auto list = server->command({"LRANGE", "replayed", "0", "-1"});
    std::vector<std::string> words;
    for (const auto& element : list.elements) words.push_back(element.text);
    EXPECT_EQ(words, (std::vector<std::string>{"three", "four"})) << "oldest first";
  }
  work.reset();
  runner.join();
}

TEST(RedisTokenStore, AnOlderTokenNeverReplacesANewerOneUnlessTheNewerWasRefused) {
  ASSERT_TRUE(redis_server_available());
  redis_process server;
  boost::asio::io_context io;
  auto work = boost::asio::make_work_guard(io);
  std::thread runner([&] { io.run(); });
  {
    redis::client_settings settings;
    settings.host = "127.0.0.1";
    settings.port = std::to_string(server.port());
    settings.timeout = 1000ms;
    redis::client client(settings, nullptr);
    ASSERT_TRUE(client.wait_up(10s));
    replicas::redis_token_store store(client, replicas::key_layout(key_prefix));
    const auto now = std::chrono::system_clock::now();
    const auto at = [&](std::chrono::hours h) {
      return std::chrono::time_point_cast<std::chrono::milliseconds>(now + h);
    };
    const auto put = [&](std::string token, std::chrono::hours ends, std::string refused) {
      return boost::asio::co_spawn(
                 io, store.store("oppo-app", oppo::auth_token{std::move(token), at(ends)}, refused),
                 boost::asio::use_future)
          .get();
    };
    auto kept = put("newer", 10h, "");
    ASSERT_TRUE(kept);
    EXPECT_EQ(kept->token, "newer");
    kept = put("older", 5h, "");  // e.g. a replica whose auth call answered later
    ASSERT_TRUE(kept);
    EXPECT_EQ(kept->token, "newer") << "the newer token stays";
    EXPECT_EQ(kept->expires_at, at(10h));
    kept = put("replacement", 5h, "newer");  // OPPO refused "newer": it goes
    ASSERT_TRUE(kept);
    EXPECT_EQ(kept->token, "replacement");
    const replicas::key_layout layout(key_prefix);
    const auto ttl = server.command({"PTTL", layout.token("oppo-app")}).integer;
    EXPECT_GT(ttl, (5h - 1min) / 1ms);
    EXPECT_LE(ttl, 5h / 1ms) << "the key expires with the token";
    server.command({"SET", layout.token("oppo-app"), "[1,2,3]"});  // junk
    const auto loaded =
        boost::asio::co_spawn(io, store.load("oppo-app"), boost::asio::use_future).get();
    EXPECT_EQ(loaded.outcome, oppo::token_store::status::ok);
    EXPECT_FALSE(loaded.token) << "junk is no token";
    kept = put("after-junk", 3h, "");
    ASSERT_TRUE(kept);
    EXPECT_EQ(kept->token, "after-junk") << "junk is overwritten";
  }
  work.reset();
  runner.join();
}

}  // namespace
}  // namespace image_gateway::testing
