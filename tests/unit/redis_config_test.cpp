// The `redis` section of the configuration (SPEC §8).
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
