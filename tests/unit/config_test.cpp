#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include <sys/stat.h>
#include <unistd.h>

#include "image_gateway/config/config.hpp"

namespace image_gateway {
namespace {

using namespace std::chrono_literals;

// A fixed environment instead of the process's.
env_lookup fake_env(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](std::string_view name) -> std::optional<std::string> {
    const auto found = vars.find(std::string(name));
    if (found == vars.end()) return std::nullopt;
    return found->second;
  };
}

const env_lookup no_env = fake_env({});

constexpr const char* one_app = R"("apps": [{"app_key": "k1", "master_secret": "s1",
    "oppo": {"app_key": "ok1", "master_secret": "os1"}}])";

// A configuration with one app plus `extra` top-level members.
std::string with_app(const std::string& extra = "") {
  return std::string("{") + one_app + (extra.empty() ? "" : ", " + extra) + "}";
}

// The message parse_config throws, or "" when it does not throw.
std::string error_of(const std::string& text, const env_lookup& env = no_env) {
  try {
    parse_config(text, env);
  } catch (const config_error& e) {
    return e.what();
  }
  return "";
}

#define EXPECT_CONFIG_ERROR(text, needle)                            \
  do {                                                               \
    const std::string message_ = error_of(text);                     \
    EXPECT_NE(message_, "") << "accepted: " << (text);               \
    EXPECT_NE(message_.find(needle), std::string::npos) << message_; \
    EXPECT_EQ(message_.find('\n'), std::string::npos) << message_;   \
  } while (0)

TEST(ConfigDefaults, EveryKeyButAppsHasItsSpecDefault) {
  const config c = parse_config(with_app(), no_env);
  EXPECT_EQ(c.server.listen, "0.0.0.0:8080");
  EXPECT_EQ(c.server.threads, 0);
  EXPECT_EQ(c.server.max_connections, 10000u);
  EXPECT_EQ(c.server.max_inflight, 512u);
  EXPECT_EQ(c.server.max_body_bytes, 16384u);
  EXPECT_EQ(c.server.header_timeout, 10000ms);
  EXPECT_EQ(c.server.idle_timeout, 75000ms);
  EXPECT_EQ(c.server.request_deadline, 25000ms);
  EXPECT_EQ(c.server.drain, 5000ms);
  ASSERT_EQ(c.apps.size(), 1u);
  EXPECT_EQ(c.apps[0].app_key, "k1");
  EXPECT_EQ(c.apps[0].master_secret, "s1");
  EXPECT_EQ(c.apps[0].oppo.app_key, "ok1");
  EXPECT_EQ(c.apps[0].oppo.master_secret, "os1");
  EXPECT_EQ(c.apps[0].rate_limit_per_s, 0);
  EXPECT_EQ(c.oppo.auth_base_url, "https://api.push.oppomobile.com");
  EXPECT_EQ(c.oppo.media_base_url, "https://api-media.push.heytapmobi.com");
  EXPECT_EQ(c.oppo.picture_ttl_s, 2592000);
  EXPECT_EQ(c.oppo.connect_timeout, 3000ms);
  EXPECT_EQ(c.oppo.timeout, 10000ms);
  EXPECT_EQ(c.oppo.retries, 2);
  EXPECT_EQ(c.oppo.max_connections, 8);
  EXPECT_EQ(c.oppo.proxy, "");
  EXPECT_EQ(c.images.big.width, 984);
  EXPECT_EQ(c.images.big.height, 369);
  EXPECT_EQ(c.images.big.max_bytes, 1048576u);
  EXPECT_EQ(c.images.small.width, 144);
  EXPECT_EQ(c.images.small.height, 144);
  EXPECT_EQ(c.images.small.max_bytes, 51200u);
  EXPECT_TRUE(c.images.verify_decode);
  EXPECT_EQ(c.fetch.connect_timeout, 3000ms);
  EXPECT_EQ(c.fetch.timeout, 10000ms);
  EXPECT_EQ(c.fetch.max_redirects, 3);
  EXPECT_TRUE(c.fetch.allow_networks.empty());
  EXPECT_TRUE(c.fetch.revalidate);
  EXPECT_EQ(c.fetch.max_fresh_s, 300);
  EXPECT_EQ(c.cache.max_entries, 100000u);
  EXPECT_EQ(c.log.level, log_level::info);
}

TEST(ConfigDefaults, EmptySectionsKeepDefaults) {
  const config c = parse_config(
      with_app(R"("server": {}, "oppo": {}, "images": {"big": {}}, "fetch": {}, "cache": {},
               "log": {})"),
      no_env);
  EXPECT_EQ(c.server.listen, "0.0.0.0:8080");
  EXPECT_EQ(c.images.big.width, 984);
  EXPECT_EQ(c.cache.max_entries, 100000u);
}

// The full example configuration (every key with its default, as config/example.json and
// docs/configuration.md list them), verbatim.
constexpr const char* spec_example = R"({
  "server": {
    "listen": "0.0.0.0:8080",
    "threads": 0,
    "max_connections": 10000,
    "max_inflight": 512,
    "max_body_bytes": 16384,
    "max_body_multipart_bytes": 1200000,
    "max_buffered_body_bytes": 67108864,
    "header_timeout_ms": 10000,
    "idle_timeout_ms": 75000,
    "request_deadline_ms": 25000,
    "drain_ms": 5000
  },
  "apps": [
    {
      "app_key": "c96f42e0d2e662e45d035ab1",
      "master_secret": "${DEMO_MASTER_SECRET}",
      "oppo": { "app_key": "${OPPO_APP_KEY}", "master_secret": "${OPPO_MASTER_SECRET}" },
      "rate_limit_per_s": 0
    }
  ],
  "oppo": {
    "auth_base_url": "https://api.push.oppomobile.com",
    "media_base_url": "https://api-media.push.heytapmobi.com",
    "picture_ttl_s": 2592000,
    "connect_timeout_ms": 3000,
    "timeout_ms": 10000,
    "retries": 2,
    "proxy": ""
  },
  "images": {
    "big":   { "width": 984, "height": 369, "max_bytes": 1048576 },
    "small": { "width": 144, "height": 144, "max_bytes": 51200 },
    "verify_decode": true
  },
  "fetch": {
    "connect_timeout_ms": 3000,
    "timeout_ms": 10000,
    "max_redirects": 3,
    "allow_networks": [],
    "revalidate": true,
    "max_fresh_s": 300
  },
  "cache": { "max_entries": 100000 },
  "log": { "level": "info" }
})";

const env_lookup spec_env = fake_env({{"DEMO_MASTER_SECRET", "demo-secret"},
                                      {"OPPO_APP_KEY", "oppo-key"},
                                      {"OPPO_MASTER_SECRET", "oppo-secret"}});

TEST(ConfigExample, SpecExampleParsesWithEnvironment) {
  const config c = parse_config(spec_example, spec_env);
  ASSERT_EQ(c.apps.size(), 1u);
  EXPECT_EQ(c.apps[0].app_key, "c96f42e0d2e662e45d035ab1");
  EXPECT_EQ(c.apps[0].master_secret, "demo-secret");
  EXPECT_EQ(c.apps[0].oppo.app_key, "oppo-key");
  EXPECT_EQ(c.apps[0].oppo.master_secret, "oppo-secret");
  EXPECT_EQ(c.server.drain, 5000ms);
  EXPECT_EQ(c.oppo.retries, 2);
  EXPECT_EQ(c.images.small.max_bytes, 51200u);
  EXPECT_EQ(c.log.level, log_level::info);
}

TEST(ConfigExample, SpecExampleNamesTheFirstMissingVariable) {
  const std::string message =
      error_of(spec_example, fake_env({{"OPPO_APP_KEY", "k"}, {"OPPO_MASTER_SECRET", "s"}}));
  EXPECT_EQ(message, "apps[0].master_secret: environment variable DEMO_MASTER_SECRET is not set");
}

TEST(ConfigValues, EveryKeyIsRead) {
  const config c = parse_config(R"({
    "server": {"listen": "[::1]:0", "threads": 256, "max_connections": 1, "max_inflight": 1,
               "max_body_bytes": 16777216, "header_timeout_ms": 1, "idle_timeout_ms": 2,
               "request_deadline_ms": 3, "drain_ms": 0},
    "apps": [{"app_key": "a", "master_secret": "s", "oppo": {"app_key": "o", "master_secret": "p"},
              "rate_limit_per_s": 2.5},
             {"app_key": "b", "master_secret": "t:u", "oppo": {"app_key": "o", "master_secret": "p"},
              "rate_limit_per_s": 10}],
    "oppo": {"auth_base_url": "http://127.0.0.1:9000/", "media_base_url": "HTTPS://media.test",
             "picture_ttl_s": 1, "connect_timeout_ms": 4, "timeout_ms": 5, "retries": 10,
             "proxy": "http://user:pw@egress:3128", "max_connections": 256},
    "images": {"big": {"width": 10, "height": 20, "max_bytes": 30},
               "small": {"width": 1, "height": 1, "max_bytes": 1}, "verify_decode": false},
    "fetch": {"connect_timeout_ms": 6, "timeout_ms": 7, "max_redirects": 0, "revalidate": false,
              "max_fresh_s": 0},
    "cache": {"max_entries": 0},
    "log": {"level": "debug"}
  })",
                                no_env);
  EXPECT_EQ(c.server.listen, "[::1]:0");
  EXPECT_EQ(c.server.threads, 256);
  EXPECT_EQ(c.server.max_connections, 1u);
  EXPECT_EQ(c.server.max_inflight, 1u);
  EXPECT_EQ(c.server.max_body_bytes, 16777216u);
  EXPECT_EQ(c.server.header_timeout, 1ms);
  EXPECT_EQ(c.server.idle_timeout, 2ms);
  EXPECT_EQ(c.server.request_deadline, 3ms);
  EXPECT_EQ(c.server.drain, 0ms);
  ASSERT_EQ(c.apps.size(), 2u);
  EXPECT_EQ(c.apps[0].rate_limit_per_s, 2.5);
  EXPECT_EQ(c.apps[1].app_key, "b");
  EXPECT_EQ(c.apps[1].master_secret, "t:u");
  EXPECT_EQ(c.apps[1].rate_limit_per_s, 10);
  EXPECT_EQ(c.apps[1].oppo.app_key, "o");                    // several apps may share one OPPO app
  EXPECT_EQ(c.oppo.auth_base_url, "http://127.0.0.1:9000");  // trailing slash dropped
  EXPECT_EQ(c.oppo.media_base_url, "HTTPS://media.test");
  EXPECT_EQ(c.oppo.picture_ttl_s, 1);
  EXPECT_EQ(c.oppo.connect_timeout, 4ms);
  EXPECT_EQ(c.oppo.timeout, 5ms);
  EXPECT_EQ(c.oppo.retries, 10);
  EXPECT_EQ(c.oppo.proxy, "http://user:pw@egress:3128");
  EXPECT_EQ(c.oppo.max_connections, 256);
  EXPECT_EQ(c.images.big.width, 10);
  EXPECT_EQ(c.images.big.height, 20);
  EXPECT_EQ(c.images.big.max_bytes, 30u);
  EXPECT_EQ(c.images.small.width, 1);
  EXPECT_FALSE(c.images.verify_decode);
  EXPECT_EQ(c.fetch.connect_timeout, 6ms);
  EXPECT_EQ(c.fetch.timeout, 7ms);
  EXPECT_EQ(c.fetch.max_redirects, 0);
  EXPECT_FALSE(c.fetch.revalidate);
  EXPECT_EQ(c.fetch.max_fresh_s, 0);
  EXPECT_EQ(c.cache.max_entries, 0u);
  EXPECT_EQ(c.log.level, log_level::debug);
}

TEST(ConfigValues, LogLevels) {
  EXPECT_EQ(parse_config(with_app(R"("log": {"level": "warn"})"), no_env).log.level,
            log_level::warn);
  EXPECT_EQ(parse_config(with_app(R"("log": {"level": "error"})"), no_env).log.level,
            log_level::error);
}

TEST(ConfigUnknownKeys, TopLevel) {
  EXPECT_EQ(error_of(with_app(R"("servr": {})")), R"(unknown key "servr")");
}

TEST(ConfigUnknownKeys, Nested) {
  EXPECT_EQ(error_of(with_app(R"("server": {"listn": "0.0.0.0:1"})")),
            R"(unknown key "server.listn")");
  EXPECT_CONFIG_ERROR(with_app(R"("images": {"big": {"widht": 1}})"),
                      R"(unknown key "images.big.widht")");
  EXPECT_CONFIG_ERROR(with_app(R"("log": {"level": "info", "format": "json"})"),
                      R"(unknown key "log.format")");
  EXPECT_CONFIG_ERROR(with_app(R"("fetch": {"max_redirect": 1})"),
                      R"(unknown key "fetch.max_redirect")");
}

TEST(ConfigUnknownKeys, InsideTheSecondAppsOppo) {
  const std::string text = R"({"apps": [
      {"app_key": "a", "master_secret": "s", "oppo": {"app_key": "o", "master_secret": "p"}},
      {"app_key": "b", "master_secret": "s", "oppo": {"app_key": "o", "master_secret": "p",
                                                       "secret": "x"}}]})";
  EXPECT_EQ(error_of(text), R"(unknown key "apps[1].oppo.secret")");
}

TEST(ConfigUnknownKeys, InAnApp) {
  EXPECT_CONFIG_ERROR(R"({"apps": [{"app_key": "a", "master_secret": "s", "rate_limit": 1,
      "oppo": {"app_key": "o", "master_secret": "p"}}]})",
                      R"(unknown key "apps[0].rate_limit")");
}

TEST(ConfigTypes, WrongTypesNameThePath) {
  EXPECT_CONFIG_ERROR(with_app(R"("server": {"threads": "4"})"),
                      "server.threads: expected an integer");
  EXPECT_CONFIG_ERROR(with_app(R"("server": {"threads": 1.5})"),
                      "server.threads: expected an integer");
  EXPECT_CONFIG_ERROR(with_app(R"("server": {"listen": 8080})"),
                      "server.listen: expected a string");
  EXPECT_CONFIG_ERROR(with_app(R"("server": [])"), "server: expected an object");
  EXPECT_CONFIG_ERROR(with_app(R"("images": {"verify_decode": "yes"})"),
                      "images.verify_decode: expected true or false");
  EXPECT_CONFIG_ERROR(with_app(R"("fetch": {"revalidate": "no"})"),
                      "fetch.revalidate: expected true or false");
  EXPECT_CONFIG_ERROR(with_app(R"("fetch": {"allow_networks": "10.0.0.0/8"})"),
                      "fetch.allow_networks: expected an array");
  EXPECT_CONFIG_ERROR(with_app(R"("fetch": {"allow_networks": [1]})"),
                      "fetch.allow_networks[0]: expected a string");
  EXPECT_CONFIG_ERROR(with_app(R"("oppo": {"proxy": null})"), "oppo.proxy: expected a string");
  EXPECT_CONFIG_ERROR(R"({"apps": {}})", "apps: expected an array");
  EXPECT_CONFIG_ERROR(R"({"apps": ["k"]})", "apps[0]: expected an object");
  EXPECT_CONFIG_ERROR(R"({"apps": [{"app_key": "a", "master_secret": "s", "oppo": {"app_key": "o",
      "master_secret": "p"}, "rate_limit_per_s": "5"}]})",
                      "apps[0].rate_limit_per_s: expected a number");
}

TEST(ConfigTypes, TopLevelMustBeAnObject) {
  EXPECT_CONFIG_ERROR("[]", "must be a JSON object");
  EXPECT_CONFIG_ERROR("\"x\"", "must be a JSON object");
}

TEST(ConfigApps, MissingAppsIsRefused) {
  EXPECT_CONFIG_ERROR("{}", "apps: is required");
  EXPECT_CONFIG_ERROR(R"({"server": {}})", "apps: is required");
  EXPECT_CONFIG_ERROR(R"({"apps": []})", "apps: at least one app is required");
}

TEST(ConfigApps, EveryCredentialIsRequiredAndNonEmpty) {
  EXPECT_CONFIG_ERROR(R"({"apps": [{"master_secret": "s", "oppo": {"app_key": "o",
      "master_secret": "p"}}]})",
                      "apps[0].app_key: is required");
  EXPECT_CONFIG_ERROR(R"({"apps": [{"app_key": "a", "oppo": {"app_key": "o",
      "master_secret": "p"}}]})",
                      "apps[0].master_secret: is required");
  EXPECT_CONFIG_ERROR(R"({"apps": [{"app_key": "a", "master_secret": "s"}]})",
                      "apps[0].oppo: is required");
  EXPECT_CONFIG_ERROR(R"({"apps": [{"app_key": "a", "master_secret": "s", "oppo": {
      "app_key": "o"}}]})",
                      "apps[0].oppo.master_secret: is required");
  EXPECT_CONFIG_ERROR(R"({"apps": [{"app_key": "a", "master_secret": "s", "oppo": {
      "master_secret": "p"}}]})",
                      "apps[0].oppo.app_key: is required");
  EXPECT_CONFIG_ERROR(R"({"apps": [{"app_key": "", "master_secret": "s", "oppo": {
      "app_key": "o", "master_secret": "p"}}]})",
                      "apps[0].app_key: must not be empty");
  EXPECT_CONFIG_ERROR(R"({"apps": [{"app_key": "a", "master_secret": "", "oppo": {
      "app_key": "o", "master_secret": "p"}}]})",
                      "apps[0].master_secret: must not be empty");
  EXPECT_CONFIG_ERROR(R"({"apps": [{"app_key": "a", "master_secret": "s", "oppo": {
      "app_key": "o", "master_secret": ""}}]})",
                      "apps[0].oppo.master_secret: must not be empty");
}

TEST(ConfigApps, DuplicateAppKeyIsRefused) {
  const std::string message = error_of(R"({"apps": [
      {"app_key": "same", "master_secret": "s1", "oppo": {"app_key": "o", "master_secret": "p"}},
      {"app_key": "other", "master_secret": "s2", "oppo": {"app_key": "o", "master_secret": "p"}},
      {"app_key": "same", "master_secret": "s3", "oppo": {"app_key": "o", "master_secret": "p"}}
  ]})");
  EXPECT_NE(message.find("apps[2].app_key"), std::string::npos) << message;
  EXPECT_NE(message.find("duplicate"), std::string::npos) << message;
  EXPECT_NE(message.find("apps[0]"), std::string::npos) << message;
}

TEST(ConfigApps, ColonInAppKeyIsRefused) {
  EXPECT_CONFIG_ERROR(R"({"apps": [{"app_key": "a:b", "master_secret": "s", "oppo": {
      "app_key": "o", "master_secret": "p"}}]})",
                      "apps[0].app_key: must not contain ':'");
}

TEST(ConfigApps, NegativeRateLimitIsRefused) {
  EXPECT_CONFIG_ERROR(R"({"apps": [{"app_key": "a", "master_secret": "s", "oppo": {
      "app_key": "o", "master_secret": "p"}, "rate_limit_per_s": -1}]})",
                      "apps[0].rate_limit_per_s: must be");
}

TEST(ConfigEnv, WholeValueIsReplaced) {
  const std::string text = R"({"apps": [{"app_key": "${KEY}", "master_secret": "${SECRET}",
      "oppo": {"app_key": "${KEY}", "master_secret": "lit${SECRET}"}}],
      "server": {"listen": "${LISTEN}"}, "fetch": {"allow_networks": []}})";
  const config c = parse_config(
      text, fake_env({{"KEY", "from-env"}, {"SECRET", "$ecret"}, {"LISTEN", "127.0.0.1:0"}}));
  EXPECT_EQ(c.apps[0].app_key, "from-env");
  EXPECT_EQ(c.apps[0].master_secret, "$ecret");
  EXPECT_EQ(c.apps[0].oppo.app_key, "from-env");
  // No partial interpolation: a value that merely contains ${…} is taken literally.
  EXPECT_EQ(c.apps[0].oppo.master_secret, "lit${SECRET}");
  EXPECT_EQ(c.server.listen, "127.0.0.1:0");
}

TEST(ConfigEnv, ReplacedValuesAreValidatedToo) {
  const std::string text = with_app(R"("log": {"level": "${LEVEL}"})");
  EXPECT_EQ(parse_config(text, fake_env({{"LEVEL", "error"}})).log.level, log_level::error);
  EXPECT_NE(error_of(text, fake_env({{"LEVEL", "loud"}})).find("log.level"), std::string::npos);
}

TEST(ConfigEnv, MissingVariableNamesPathAndVariable) {
  const std::string text = R"({"apps": [{"app_key": "a", "master_secret": "top-secret-value",
      "oppo": {"app_key": "o", "master_secret": "${OPPO_MASTER_SECRET}"}}]})";
  const std::string message = error_of(text);
  EXPECT_EQ(message,
            "apps[0].oppo.master_secret: environment variable OPPO_MASTER_SECRET is not set");
}

TEST(ConfigEnv, EmptyVariableForACredentialIsRefused) {
  const std::string text = R"({"apps": [{"app_key": "a", "master_secret": "${S}",
      "oppo": {"app_key": "o", "master_secret": "p"}}]})";
  EXPECT_EQ(error_of(text, fake_env({{"S", ""}})),
            "apps[0].master_secret: environment variable S is empty");
}

TEST(ConfigEnv, InvalidVariableNameIsRefused) {
  EXPECT_CONFIG_ERROR(with_app(R"("oppo": {"proxy": "${MY-PROXY}"})"),
                      "oppo.proxy: \"MY-PROXY\" is not a valid environment variable name");
}

TEST(ConfigEnv, ProcessEnvReadsTheEnvironment) {
  ::setenv("IGW_CONFIG_TEST_VAR", "value-1", 1);
  EXPECT_EQ(process_env("IGW_CONFIG_TEST_VAR"), "value-1");
  ::unsetenv("IGW_CONFIG_TEST_VAR");
  EXPECT_EQ(process_env("IGW_CONFIG_TEST_VAR"), std::nullopt);
}

// A scratch directory for secret files, removed with its files at the end of the test.
class ConfigFileSecret : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/igw-config-test.XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    for (const std::string& file : files_) ::unlink(file.c_str());
    ::rmdir((dir_ + "/sub").c_str());
    ::rmdir(dir_.c_str());
  }
  std::string write(const std::string& name, const std::string& content) {
    const std::string file = dir_ + "/" + name;
    std::FILE* f = std::fopen(file.c_str(), "wb");
    EXPECT_NE(f, nullptr);
    std::fwrite(content.data(), 1, content.size(), f);
    std::fclose(f);
    files_.push_back(file);
    return file;
  }
  // A config whose app master secret is "${file:FILE}".
  static std::string secret_from(const std::string& file) {
    return R"({"apps": [{"app_key": "a", "master_secret": "${file:)" + file +
           R"(}", "oppo": {"app_key": "o", "master_secret": "p"}}]})";
  }
  std::string dir_;
  std::vector<std::string> files_;
};

TEST_F(ConfigFileSecret, ContentLessOneFinalNewlineIsTheValue) {
  EXPECT_EQ(parse_config(secret_from(write("s1", "top-secret\n")), no_env).apps[0].master_secret,
            "top-secret");
  // Only one newline goes; the rest of the content is kept as it is.
  EXPECT_EQ(parse_config(secret_from(write("s2", " $ecret\n\n")), no_env).apps[0].master_secret,
            " $ecret\n");
  EXPECT_EQ(parse_config(secret_from(write("s3", "no-newline")), no_env).apps[0].master_secret,
            "no-newline");
  // Exactly 64 KiB is accepted.
  const std::string big(64 * 1024, 'x');
  EXPECT_EQ(parse_config(secret_from(write("s4", big)), no_env).apps[0].master_secret, big);
}

TEST_F(ConfigFileSecret, WorksForAnyStringKeyAndIsValidatedLikeALiteral) {
  const std::string level = write("level", "warn\n");
  EXPECT_EQ(
      parse_config(with_app(R"("log": {"level": "${file:)" + level + R"(}"})"), no_env).log.level,
      log_level::warn);
  const std::string bad = write("bad-level", "loud\n");
  EXPECT_CONFIG_ERROR(with_app(R"("log": {"level": "${file:)" + bad + R"(}"})"), "log.level");
}

TEST_F(ConfigFileSecret, MissingFileNamesTheKeyAndPath) {
  const std::string file = dir_ + "/absent";
  EXPECT_EQ(error_of(secret_from(file)),
            "apps[0].master_secret: cannot read file \"" + file + "\": No such file or directory");
}

TEST_F(ConfigFileSecret, UnopenableFileIsRefused) {
  // A path through a regular file cannot be opened whoever runs the test (root reads mode 0).
  const std::string file = write("plain", "top-secret\n") + "/inner";
  EXPECT_EQ(error_of(secret_from(file)),
            "apps[0].master_secret: cannot read file \"" + file + "\": Not a directory");
}

TEST_F(ConfigFileSecret, DirectoryEmptyAndOversizedFilesAreRefusedWithoutTheirContent) {
  ASSERT_EQ(::mkdir((dir_ + "/sub").c_str(), 0700), 0);
  EXPECT_EQ(error_of(secret_from(dir_ + "/sub")),
            "apps[0].master_secret: file \"" + dir_ + "/sub\" is a directory");
  const std::string empty = write("empty", "");
  EXPECT_EQ(error_of(secret_from(empty)), "apps[0].master_secret: file \"" + empty + "\" is empty");
  const std::string newline_only = write("newline", "\n");
  EXPECT_EQ(error_of(secret_from(newline_only)),
            "apps[0].master_secret: file \"" + newline_only + "\" is empty");
  const std::string big = write("big", std::string(64 * 1024, 's') + "\n");
  const std::string message = error_of(secret_from(big));
  EXPECT_EQ(message, "apps[0].master_secret: file \"" + big + "\" is larger than 64 KiB");
  EXPECT_EQ(message.find("sss"), std::string::npos);
}

TEST_F(ConfigFileSecret, DeviceAndRelativePathsAreRefused) {
  EXPECT_EQ(error_of(secret_from("/dev/null")),
            "apps[0].master_secret: file \"/dev/null\" is not a regular file");
  EXPECT_EQ(error_of(secret_from("run/secrets/x")),
            "apps[0].master_secret: file \"run/secrets/x\" must be an absolute path");
  EXPECT_EQ(error_of(secret_from("")), "apps[0].master_secret: file \"\" must be an absolute path");
}

TEST(ConfigTrace, GenerateIsOffByDefaultAndReadAsABoolean) {
  EXPECT_FALSE(parse_config(with_app(), no_env).trace.generate);
  EXPECT_TRUE(parse_config(with_app(R"("trace": {"generate": true})"), no_env).trace.generate);
  EXPECT_CONFIG_ERROR(with_app(R"("trace": {"generate": "yes"})"),
                      "trace.generate: expected true or false");
  EXPECT_CONFIG_ERROR(with_app(R"("trace": {"sample": true})"), "unknown key \"trace.sample\"");
}

TEST(ConfigRanges, OutOfRangeValuesAreRefused) {
  EXPECT_CONFIG_ERROR(with_app(R"("server": {"threads": 257})"),
                      "server.threads: must be between 0 and 256");
  EXPECT_CONFIG_ERROR(with_app(R"("server": {"threads": -1})"), "server.threads");
  EXPECT_CONFIG_ERROR(with_app(R"("server": {"max_connections": 0})"),
                      "server.max_connections: must be at least 1");
  EXPECT_CONFIG_ERROR(with_app(R"("server": {"max_inflight": 0})"), "server.max_inflight");
  EXPECT_CONFIG_ERROR(with_app(R"("server": {"max_body_bytes": 1})"), "server.max_body_bytes");
  EXPECT_CONFIG_ERROR(with_app(R"("server": {"max_body_bytes": 16777217})"),
                      "server.max_body_bytes");
  EXPECT_CONFIG_ERROR(with_app(R"("server": {"header_timeout_ms": 0})"),
                      "server.header_timeout_ms");
  EXPECT_CONFIG_ERROR(with_app(R"("server": {"idle_timeout_ms": 0})"), "server.idle_timeout_ms");
  EXPECT_CONFIG_ERROR(with_app(R"("server": {"request_deadline_ms": 0})"),
                      "server.request_deadline_ms");
  EXPECT_CONFIG_ERROR(with_app(R"("server": {"drain_ms": -1})"), "server.drain_ms");
  EXPECT_CONFIG_ERROR(with_app(R"("server": {"drain_ms": 18446744073709551615})"),
                      "server.drain_ms");
  EXPECT_CONFIG_ERROR(with_app(R"("oppo": {"picture_ttl_s": 0})"), "oppo.picture_ttl_s");
  EXPECT_CONFIG_ERROR(with_app(R"("oppo": {"connect_timeout_ms": 0})"), "oppo.connect_timeout_ms");
  EXPECT_CONFIG_ERROR(with_app(R"("oppo": {"timeout_ms": 0})"), "oppo.timeout_ms");
  EXPECT_CONFIG_ERROR(with_app(R"("oppo": {"retries": 11})"),
                      "oppo.retries: must be between 0 and 10");
  EXPECT_CONFIG_ERROR(with_app(R"("oppo": {"retries": -1})"), "oppo.retries");
  EXPECT_CONFIG_ERROR(with_app(R"("oppo": {"max_connections": 0})"),
                      "oppo.max_connections: must be between 1 and 256");
  EXPECT_CONFIG_ERROR(with_app(R"("oppo": {"max_connections": 257})"), "oppo.max_connections");
  EXPECT_CONFIG_ERROR(with_app(R"("fetch": {"max_redirects": 11})"), "fetch.max_redirects");
  EXPECT_CONFIG_ERROR(with_app(R"("fetch": {"max_fresh_s": 86401})"),
                      "fetch.max_fresh_s: must be between 0 and 86400");
  EXPECT_CONFIG_ERROR(with_app(R"("fetch": {"max_fresh_s": -1})"), "fetch.max_fresh_s");
  EXPECT_CONFIG_ERROR(with_app(R"("fetch": {"max_fresh_s": "300"})"),
                      "fetch.max_fresh_s: expected an integer");
  EXPECT_CONFIG_ERROR(with_app(R"("fetch": {"connect_timeout_ms": 0})"),
                      "fetch.connect_timeout_ms");
  EXPECT_CONFIG_ERROR(with_app(R"("fetch": {"timeout_ms": 0})"), "fetch.timeout_ms");
  EXPECT_CONFIG_ERROR(with_app(R"("cache": {"max_entries": -1})"), "cache.max_entries");
  EXPECT_CONFIG_ERROR(with_app(R"("images": {"big": {"width": 0}})"), "images.big.width");
  EXPECT_CONFIG_ERROR(with_app(R"("images": {"small": {"height": 0}})"), "images.small.height");
  EXPECT_CONFIG_ERROR(with_app(R"("images": {"small": {"max_bytes": 0}})"),
                      "images.small.max_bytes");
}

TEST(ConfigLog, BadLevelIsRefused) {
  EXPECT_EQ(error_of(with_app(R"("log": {"level": "verbose"})")),
            R"(log.level: "verbose" is not one of debug, info, warn, error)");
  EXPECT_CONFIG_ERROR(with_app(R"("log": {"level": "INFO"})"), "log.level");
}

TEST(ConfigListen, ValidForms) {
  for (const std::string listen : {"0.0.0.0:8080", "127.0.0.1:0", "localhost:65535", "[::]:80",
                                   "[::1]:0", "[fe80::1%eth0]:8080"}) {
    EXPECT_EQ(
        parse_config(with_app(R"("server": {"listen": ")" + listen + "\"}"), no_env).server.listen,
        listen);
  }
}

TEST(ConfigListen, BadFormsAreRefused) {
  for (const std::string listen :
       {"8080", ":8080", "0.0.0.0", "0.0.0.0:", "0.0.0.0:65536", "0.0.0.0:http", "::1:80",
        "[::1]80", "[::1]", "[127.0.0.1]:80", "0.0.0.0:-1", "0.0.0.0:123456", "a b:80", ""}) {
    const std::string message = error_of(with_app(R"("server": {"listen": ")" + listen + "\"}"));
    EXPECT_NE(message.find("server.listen: "), std::string::npos) << listen << " -> " << message;
  }
}

TEST(ConfigNetworks, AllowNetworksAreParsed) {
  const config c = parse_config(
      with_app(R"("fetch": {"allow_networks": ["127.0.0.0/8", "::1/128", "10.1.2.3"]})"), no_env);
  ASSERT_EQ(c.fetch.allow_networks.size(), 3u);
  EXPECT_EQ(c.fetch.allow_networks[0].prefix_length, 8);
  EXPECT_FALSE(c.fetch.allow_networks[0].base.is_v6);
  EXPECT_EQ(c.fetch.allow_networks[1].prefix_length, 128);
  EXPECT_TRUE(c.fetch.allow_networks[1].base.is_v6);
  EXPECT_EQ(c.fetch.allow_networks[2].prefix_length, 32);
}

TEST(ConfigNetworks, BadCidrIsRefusedWithItsIndex) {
  EXPECT_CONFIG_ERROR(with_app(R"("fetch": {"allow_networks": ["127.0.0.0/8", "10.0.0.0/33"]})"),
                      "fetch.allow_networks[1]: \"10.0.0.0/33\" is not a network");
  EXPECT_CONFIG_ERROR(with_app(R"("fetch": {"allow_networks": ["intranet"]})"),
                      "fetch.allow_networks[0]");
}

TEST(ConfigOppo, BaseUrlsMustBeHttp) {
  EXPECT_CONFIG_ERROR(with_app(R"("oppo": {"auth_base_url": "ftp://api.push.oppomobile.com"})"),
                      "oppo.auth_base_url: must start with http:// or https://");
  EXPECT_CONFIG_ERROR(with_app(R"("oppo": {"media_base_url": "api-media.push.heytapmobi.com"})"),
                      "oppo.media_base_url: must start with http:// or https://");
  EXPECT_CONFIG_ERROR(with_app(R"("oppo": {"auth_base_url": "https://"})"), "oppo.auth_base_url");
  EXPECT_CONFIG_ERROR(with_app(R"("oppo": {"auth_base_url": ""})"), "oppo.auth_base_url");
}

TEST(ConfigOppo, ProxyMustBeEmptyOrAUrlAndIsNotEchoed) {
  const std::string message =
      error_of(with_app(R"("oppo": {"proxy": "user:hunter2@egress:3128"})"));
  EXPECT_NE(message.find("oppo.proxy: must be empty or a proxy URL"), std::string::npos) << message;
  EXPECT_EQ(message.find("hunter2"), std::string::npos) << message;
  EXPECT_EQ(
      parse_config(with_app(R"("oppo": {"proxy": "socks5h://egress:1080"})"), no_env).oppo.proxy,
      "socks5h://egress:1080");
}

TEST(ConfigJson, SyntaxErrorGivesPositionNotText) {
  const std::string message =
      error_of("{\"apps\": [{\"app_key\": \"a\",\n \"master_secret\": \"hunter2");
  EXPECT_NE(message.find("not valid JSON"), std::string::npos) << message;
  EXPECT_NE(message.find("line 2"), std::string::npos) << message;
  EXPECT_EQ(message.find("hunter2"), std::string::npos) << message;
  EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  EXPECT_CONFIG_ERROR("", "not valid JSON");
}

TEST(ConfigJson, DuplicateKeysAreRefused) {
  EXPECT_EQ(error_of(with_app(R"("log": {"level": "debug", "level": "error"})")),
            R"(duplicate key "log.level")");
  EXPECT_CONFIG_ERROR(R"({"apps": [{"app_key": "a", "master_secret": "s", "oppo": {
      "app_key": "o", "master_secret": "p"}}, {"app_key": "b", "app_key": "c"}]})",
                      R"(duplicate key "apps[1].app_key")");
  // The same key in different objects is fine.
  EXPECT_NO_THROW(
      parse_config(with_app(R"("oppo": {"timeout_ms": 5}, "fetch": {"timeout_ms": 5})"), no_env));
}

TEST(ConfigSecrets, MessagesNeverCarrySecretValues) {
  const env_lookup env = fake_env({{"S", "env-secret-1"}});
  const std::string text = R"({"apps": [{"app_key": "a", "master_secret": "file-secret-2",
      "oppo": {"app_key": "o", "master_secret": "${S}"}}], "server": {"threads": true}})";
  const std::string message = error_of(text, env);
  EXPECT_NE(message.find("server.threads"), std::string::npos) << message;
  EXPECT_EQ(message.find("secret-"), std::string::npos) << message;
  const std::string typed = error_of(R"({"apps": [{"app_key": "a", "master_secret": 12345678,
      "oppo": {"app_key": "o", "master_secret": "p"}}]})");
  EXPECT_NE(typed.find("apps[0].master_secret: expected a string"), std::string::npos) << typed;
  EXPECT_EQ(typed.find("12345678"), std::string::npos) << typed;
}

TEST(ConfigFile, LoadsAFile) {
  char path[] = "/tmp/igw_config_test_XXXXXX";
  const int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  const std::string text = with_app(R"("log": {"level": "warn"})");
  ASSERT_EQ(::write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  ::close(fd);
  const config c = load_config_file(path, no_env);
  std::remove(path);
  EXPECT_EQ(c.log.level, log_level::warn);
  EXPECT_EQ(c.apps.at(0).app_key, "k1");
}

TEST(ConfigFile, UnreadableFileNamesThePath) {
  const std::string path = "/nonexistent/dir/gateway.json";
  try {
    load_config_file(path, no_env);
    FAIL() << "expected config_error";
  } catch (const config_error& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
  try {
    load_config_file("/tmp", no_env);  // a directory cannot be read as a file
    FAIL() << "expected config_error";
  } catch (const config_error& e) {
    EXPECT_NE(std::string(e.what()).find("/tmp"), std::string::npos) << e.what();
  }
}

TEST(ConfigFile, CommittedConfigsParse) {
  const config dev = load_config_file(IGW_SOURCE_DIR "/config/dev.json", no_env);
  EXPECT_EQ(dev.server.drain, 0ms);
  EXPECT_FALSE(dev.fetch.allow_networks.empty());
  const config example = load_config_file(IGW_SOURCE_DIR "/config/example.json", spec_env);
  EXPECT_EQ(example.apps.at(0).master_secret, "demo-secret");
}

// images.fit (issue 12): the caps of a source to be fitted.
TEST(ConfigFit, DefaultsAndValues) {
  const config defaults = parse_config(with_app(""), no_env);
  EXPECT_EQ(defaults.images.fit.max_source_bytes, 10485760u);
  EXPECT_EQ(defaults.images.fit.max_source_pixels, 16777216u);
  EXPECT_EQ(defaults.images.fit.max_inflight, 8u);
  const config c =
      parse_config(with_app(R"("images": {"fit": {"max_source_bytes": 5, "max_source_pixels": 6,
                                     "max_inflight": 7}})"),
                   no_env);
  EXPECT_EQ(c.images.fit.max_source_bytes, 5u);
  EXPECT_EQ(c.images.fit.max_source_pixels, 6u);
  EXPECT_EQ(c.images.fit.max_inflight, 7u);
  EXPECT_EQ(c.images.big.width, 984);  // the rest of images keeps its defaults
}

TEST(ConfigFit, BadValuesNameThePath) {
  EXPECT_CONFIG_ERROR(with_app(R"("images": {"fit": {"max_source_bytes": 0}})"),
                      "images.fit.max_source_bytes: must be at least 1");
  EXPECT_CONFIG_ERROR(with_app(R"("images": {"fit": {"max_source_pixels": "many"}})"),
                      "images.fit.max_source_pixels: expected an integer");
  EXPECT_CONFIG_ERROR(with_app(R"("images": {"fit": {"max_inflight": 0}})"),
                      "images.fit.max_inflight: must be between 1 and 100000");
  EXPECT_CONFIG_ERROR(with_app(R"("images": {"fit": {"max_pixels": 1}})"),
                      R"(unknown key "images.fit.max_pixels")");
}

// images.fit.max_inflight_per_app: one app's share of the places (issue 16).
TEST(ConfigFit, PerAppShare) {
  EXPECT_EQ(parse_config(with_app(""), no_env).images.fit.max_inflight_per_app, 0u);  // half
  const config c = parse_config(
      with_app(R"("images": {"fit": {"max_inflight": 6, "max_inflight_per_app": 6}})"), no_env);
  EXPECT_EQ(c.images.fit.max_inflight_per_app, 6u);
  EXPECT_CONFIG_ERROR(with_app(R"("images": {"fit": {"max_inflight_per_app": 0}})"),
                      "images.fit.max_inflight_per_app: must be between 1 and 100000");
  EXPECT_CONFIG_ERROR(with_app(R"("images": {"fit": {"max_inflight_per_app": 9}})"),
                      "images.fit.max_inflight_per_app: must not be more than "
                      "images.fit.max_inflight (8)");
  EXPECT_CONFIG_ERROR(
      with_app(R"("images": {"fit": {"max_inflight_per_app": 3, "max_inflight": 2}})"),
      "images.fit.max_inflight_per_app: must not be more than images.fit.max_inflight (2)");
}

}  // namespace
// docs/configuration.md: multipart bodies have their own limit, 1,200,000 by default.
TEST(Config, MaxBodyMultipartBytes) {
  EXPECT_EQ(parse_config(with_app(), no_env).server.max_body_multipart_bytes, 1200000u);
  EXPECT_EQ(parse_config(with_app(R"("server": {"max_body_multipart_bytes": 11534336})"), no_env)
                .server.max_body_multipart_bytes,
            11534336u);
  EXPECT_CONFIG_ERROR(with_app(R"("server": {"max_body_multipart_bytes": 1})"),
                      "server.max_body_multipart_bytes");
  EXPECT_CONFIG_ERROR(with_app(R"("server": {"max_body_multipart_bytes": 67108865})"),
                      "server.max_body_multipart_bytes");
  EXPECT_CONFIG_ERROR(with_app(R"("server": {"max_body_multipart_bytes": "1200000"})"),
                      "server.max_body_multipart_bytes");
}

// Issue 16: one budget for the bodies of admitted requests, at least the largest body limit.
TEST(Config, MaxBufferedBodyBytes) {
  EXPECT_EQ(parse_config(with_app(), no_env).server.max_buffered_body_bytes, 67108864u);
  EXPECT_EQ(parse_config(with_app(R"("server": {"max_buffered_body_bytes": 1200000})"), no_env)
                .server.max_buffered_body_bytes,
            1200000u);
  EXPECT_EQ(parse_config(with_app(R"("server": {"max_buffered_body_bytes": 68719476736})"), no_env)
                .server.max_buffered_body_bytes,
            68719476736u);
  EXPECT_CONFIG_ERROR(with_app(R"("server": {"max_buffered_body_bytes": 68719476737})"),
                      "server.max_buffered_body_bytes");
  EXPECT_CONFIG_ERROR(with_app(R"("server": {"max_buffered_body_bytes": 0})"),
                      "server.max_buffered_body_bytes");
  EXPECT_CONFIG_ERROR(with_app(R"("server": {"max_buffered_body_bytes": "67108864"})"),
                      "server.max_buffered_body_bytes");
  // Below a body limit: such a body could never be read.
  EXPECT_CONFIG_ERROR(with_app(R"("server": {"max_buffered_body_bytes": 1199999})"),
                      "server.max_buffered_body_bytes: must be at least the largest body limit "
                      "(1200000 bytes");
  EXPECT_CONFIG_ERROR(
      with_app(
          R"("server": {"max_body_multipart_bytes": 2000000, "max_buffered_body_bytes": 1500000})"),
      "server.max_buffered_body_bytes");
}

}  // namespace image_gateway
