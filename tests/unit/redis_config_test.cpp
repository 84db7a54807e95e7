// The `redis` section of the configuration (docs/scaling.md, docs/configuration.md#every-key).
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "image_gateway/config/config.hpp"

namespace image_gateway {
namespace {

using namespace std::chrono_literals;

const env_lookup env = [](std::string_view name) -> std::optional<std::string> {
  if (name == "REDIS_PASSWORD") return std::string("s3cret-pw");
  return std::nullopt;
};

std::string with_redis(const std::string& redis) {
  return R"({"apps": [{"app_key": "k1", "master_secret": "s1",
    "oppo": {"app_key": "ok1", "master_secret": "os1"}}], "redis": )" +
         redis + "}";
}

std::string error_of(const std::string& redis) {
  try {
    parse_config(with_redis(redis), env);
  } catch (const config_error& e) {
    return e.what();
  }
  return "";
}

TEST(RedisConfig, DefaultsMatchTheSpec) {
  const config c = parse_config(with_redis("{}"), env);
  EXPECT_FALSE(c.redis.enabled());
  EXPECT_EQ(c.redis.url, "");
  EXPECT_EQ(c.redis.password, "");
  EXPECT_EQ(c.redis.key_prefix, "image-gateway:");
  EXPECT_EQ(c.redis.timeout, 50ms);
  EXPECT_EQ(c.redis.lock_lease, 2000ms);
  EXPECT_EQ(c.redis.expected_replicas, 1);
  EXPECT_EQ(c.redis.mode, redis_mode::standalone);
  EXPECT_TRUE(c.redis.seeds.empty());
  EXPECT_EQ(c.redis.username, "");
  EXPECT_FALSE(c.redis.tls);
  EXPECT_EQ(c.redis.lock_lease, 2000ms);
}

TEST(RedisConfig, ReadsTheDeploymentKeys) {
  const config c = parse_config(with_redis(R"({"url": "rediss://sentinel-a:26379",
      "mode": "sentinel", "seeds": ["sentinel-b:26379", "[::1]:26380", "rediss://sentinel-c"],
      "sentinel_master": "mymaster", "username": "gateway", "password": "pw",
      "tls": {"ca_file": "/dev/null", "server_name": "redis.internal"},
      "lock_lease_ms": 500})"),
                                env);
  EXPECT_TRUE(c.redis.tls);
  EXPECT_EQ(c.redis.host, "sentinel-a");
  EXPECT_EQ(c.redis.mode, redis_mode::sentinel);
  ASSERT_EQ(c.redis.seeds.size(), 3U);
  EXPECT_EQ(c.redis.seeds[0].host, "sentinel-b");
  EXPECT_EQ(c.redis.seeds[0].port, "26379");
  EXPECT_EQ(c.redis.seeds[1].host, "::1");
  EXPECT_EQ(c.redis.seeds[1].port, "26380");
  EXPECT_EQ(c.redis.seeds[2].port, "6379");
  EXPECT_EQ(c.redis.sentinel_master, "mymaster");
  EXPECT_EQ(c.redis.username, "gateway");
  EXPECT_EQ(c.redis.tls_files.ca_file, "/dev/null");
  EXPECT_EQ(c.redis.tls_files.server_name, "redis.internal");
  EXPECT_EQ(c.redis.lock_lease, 500ms);
  const config cluster = parse_config(
      with_redis(R"({"url": "redis://a:7000", "mode": "cluster", "seeds": ["b:7001"]})"), env);
  EXPECT_EQ(cluster.redis.mode, redis_mode::cluster);
}

// What cannot work is refused before any connection, naming its key.
TEST(RedisConfig, DeploymentsThatCannotWorkAreRefused) {
  const std::map<std::string, std::string> cases = {
      {R"({"url": "redis://a", "mode": "replicated"})", "redis.mode"},
      {R"({"url": "redis://a", "mode": "cluster", "seeds": ["b:port"]})", "redis.seeds[0]"},
      {R"({"url": "redis://a", "mode": "cluster", "seeds": ["rediss://b:7000"]})",
       "redis.seeds[0]"},
      {R"({"url": "redis://a", "mode": "cluster", "seeds": ["redis://b:7000/1"]})",
       "redis.seeds[0]"},
      {R"({"url": "redis://a", "mode": "cluster", "seeds": [7000]})", "redis.seeds[0]"},
      {R"({"url": "redis://a", "seeds": ["b:7000"]})", "redis.seeds"},
      {R"({"url": "redis://a", "mode": "sentinel"})", "redis.sentinel_master"},
      {R"({"url": "redis://a", "sentinel_master": "m"})", "redis.sentinel_master"},
      {R"({"url": "redis://a/2", "mode": "cluster"})", "redis.url"},
      {R"({"url": "redis://a", "tls": {"ca_file": "/dev/null"}})", "redis.tls"},
      {R"({"url": "rediss://a", "tls": {"ca_file": "/nonexistent/ca.pem"}})", "redis.tls.ca_file"},
      {R"({"url": "rediss://a", "tls": {"cert_file": "/dev/null"}})", "redis.tls.cert_file"},
      {R"({"url": "rediss://a", "tls": {"key_file": "/dev/null"}})", "redis.tls.key_file"},
      {R"({"url": "rediss://a", "tls": {"ca": "/dev/null"}})", "redis.tls.ca"},
      {R"({"url": "redis://a", "username": "gateway"})", "redis.username"},
      {R"({"lock_lease_ms": 99})", "redis.lock_lease_ms"},
      {R"({"lock_lease_ms": 60001})", "redis.lock_lease_ms"},
  };
  for (const auto& [redis, key] : cases) {
    const std::string message = error_of(redis);
    EXPECT_NE(message.find(key), std::string::npos) << redis << " -> " << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << "one line: " << message;
  }
}

TEST(RedisConfig, ReadsEveryKey) {
  const config c = parse_config(with_redis(R"({"url": "redis://cache.internal:6380/3",
      "password": "${REDIS_PASSWORD}", "key_prefix": "igw:", "timeout_ms": 200,
      "lock_lease_ms": 750, "expected_replicas": 3})"),
                                env);
  EXPECT_TRUE(c.redis.enabled());
  EXPECT_EQ(c.redis.host, "cache.internal");
  EXPECT_EQ(c.redis.port, "6380");
  EXPECT_EQ(c.redis.db, 3);
  EXPECT_EQ(c.redis.password, "s3cret-pw");
  EXPECT_EQ(c.redis.key_prefix, "igw:");
  EXPECT_EQ(c.redis.timeout, 200ms);
  EXPECT_EQ(c.redis.lock_lease, 750ms);
  EXPECT_EQ(c.redis.expected_replicas, 3);
}

TEST(RedisConfig, PortAndDatabaseAreOptional) {
  const config c = parse_config(with_redis(R"({"url": "redis://redis"})"), env);
  EXPECT_EQ(c.redis.host, "redis");
  EXPECT_EQ(c.redis.port, "6379");
  EXPECT_EQ(c.redis.db, 0);
  const config v6 = parse_config(with_redis(R"({"url": "redis://[::1]:7000/1"})"), env);
  EXPECT_EQ(v6.redis.host, "::1");
  EXPECT_EQ(v6.redis.port, "7000");
  EXPECT_EQ(v6.redis.db, 1);
}

TEST(RedisConfig, BadValuesNameTheirKey) {
  const std::map<std::string, std::string> cases = {
      {R"({"url": "http://redis:6379"})", "redis.url"},
      {R"({"url": "redis://"})", "redis.url"},
      {R"({"url": "redis://host:0"})", "redis.url"},
      {R"({"url": "redis://host:65536"})", "redis.url"},
      {R"({"url": "redis://host:port"})", "redis.url"},
      {R"({"url": "redis://host:6379/x"})", "redis.url"},
      {R"({"url": "redis://host name:6379"})", "redis.url"},
      {R"({"url": "redis://[::1:6379"})", "redis.url"},
      {R"({"url": 6379})", "redis.url"},
      {R"({"timeout_ms": 0})", "redis.timeout_ms"},
      {R"({"timeout_ms": 5001})", "redis.timeout_ms"},
      {R"({"lock_lease_ms": 99})", "redis.lock_lease_ms"},
      {R"({"lock_lease_ms": 60001})", "redis.lock_lease_ms"},
      {R"({"lock_lease_ms": "2s"})", "redis.lock_lease_ms"},
      {R"({"expected_replicas": 0})", "redis.expected_replicas"},
      {R"({"key_prefix": "a{b}:"})", "redis.key_prefix"},
      {R"({"key_prefix": "a b"})", "redis.key_prefix"},
      {R"({"password": "${UNSET_VARIABLE}"})", "redis.password"},
      {R"({"urll": ""})", "redis.urll"},
  };
  for (const auto& [redis, key] : cases) {
    const std::string message = error_of(redis);
    EXPECT_NE(message.find(key), std::string::npos) << redis << " -> " << message;
  }
}

TEST(RedisConfig, AUrlWithAPasswordIsRefusedWithoutQuotingIt) {
  const std::string message = error_of(R"({"url": "redis://:hunter2@redis:6379"})");
  EXPECT_NE(message.find("redis.url"), std::string::npos) << message;
  EXPECT_NE(message.find("redis.password"), std::string::npos) << message;
  EXPECT_EQ(message.find("hunter2"), std::string::npos) << message;
}

}  // namespace
}  // namespace image_gateway
