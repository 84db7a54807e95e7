#include <gtest/gtest.h>

#include <csignal>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

#include "image_gateway/log/logger.hpp"

namespace image_gateway {
namespace {

// A logger writing to an anonymous temporary file, read back line by line.
class LoggerTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_NE(file_, nullptr); }
  void TearDown() override {
    if (file_ != nullptr) std::fclose(file_);
  }

  // Everything the logger wrote, read with pread (its writer thread owns the file offset).
  std::vector<std::string> lines(logger& log) {
    EXPECT_TRUE(log.flush());
    std::string text;
    char chunk[4096];
    off_t offset = 0;
    for (ssize_t n; (n = ::pread(::fileno(file_), chunk, sizeof chunk, offset)) > 0; offset += n) {
      text.append(chunk, static_cast<std::size_t>(n));
    }
    std::vector<std::string> out;
    std::size_t start = 0;
    for (std::size_t end; (end = text.find('\n', start)) != std::string::npos; start = end + 1) {
      out.push_back(text.substr(start, end - start));
    }
    EXPECT_EQ(start, text.size()) << "the last line is not terminated";
    return out;
  }

  std::FILE* file_ = std::tmpfile();
};

TEST_F(LoggerTest, OneJsonLineWithTimeLevelMsgFirstThenFields) {
  logger log(log_level::info, file_);
  log.write(log_level::info, "request", {{"status", 200}, {"app_key", "k1"}, {"path", "/v4"}});
  const auto all = lines(log);
  ASSERT_EQ(all.size(), 1u);
  const std::string& line = all[0];
  EXPECT_EQ(line.rfind("{\"time\":\"", 0), 0u) << line;
  EXPECT_LT(line.find("\"time\""), line.find("\"level\""));
  EXPECT_LT(line.find("\"level\""), line.find("\"msg\""));
  EXPECT_LT(line.find("\"msg\""), line.find("\"status\""));
  const auto json = nlohmann::json::parse(line);
  EXPECT_EQ(json.at("level"), "info");
  EXPECT_EQ(json.at("msg"), "request");
  EXPECT_EQ(json.at("status"), 200);
  EXPECT_EQ(json.at("app_key"), "k1");
  EXPECT_EQ(json.at("path"), "/v4");
  EXPECT_EQ(json.size(), 6u);
}

TEST_F(LoggerTest, TimeIsUtcIsoWithMilliseconds) {
  logger log(log_level::debug, file_);
  log.write(log_level::debug, "x");
  const auto all = lines(log);
  ASSERT_EQ(all.size(), 1u);
  const std::string time = nlohmann::json::parse(all[0]).at("time");
  EXPECT_TRUE(std::regex_match(time, std::regex(R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z)")))
      << time;
  EXPECT_EQ(time.substr(0, 2), "20");
}

TEST_F(LoggerTest, LevelsBelowTheThresholdAreDropped) {
  logger log(log_level::warn, file_);
  EXPECT_FALSE(log.enabled(log_level::info));
  EXPECT_TRUE(log.enabled(log_level::error));
  log.write(log_level::debug, "d");
  log.write(log_level::info, "i", {{"a", 1}});
  log.write(log_level::warn, "w");
  log.write(log_level::error, "e");
  log.set_level(log_level::debug);
  log.write(log_level::debug, "d2");
  const auto all = lines(log);
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(nlohmann::json::parse(all[0]).at("msg"), "w");
  EXPECT_EQ(nlohmann::json::parse(all[0]).at("level"), "warn");
  EXPECT_EQ(nlohmann::json::parse(all[1]).at("level"), "error");
  EXPECT_EQ(nlohmann::json::parse(all[2]).at("level"), "debug");
}

TEST_F(LoggerTest, InvalidUtf8IsReplacedNotThrown) {
  logger log(log_level::info, file_);
  ASSERT_NO_THROW(log.write(log_level::info, "bad \xff msg",
                            {{"path", "/v4/\xc3("}, {std::string("k\xfe"), "v"}}));
  const auto all = lines(log);
  ASSERT_EQ(all.size(), 1u);
  nlohmann::json json;
  ASSERT_NO_THROW(json = nlohmann::json::parse(all[0]));
  EXPECT_EQ(json.at("msg"), "bad \xEF\xBF\xBD msg");
  EXPECT_NE(json.at("path").get<std::string>().find("\xEF\xBF\xBD"), std::string::npos);
}

TEST_F(LoggerTest, ControlCharactersStayOnOneLine) {
  logger log(log_level::info, file_);
  log.write(log_level::info, "line1\nline2", {{"ua", "a\r\nb"}});
  const auto all = lines(log);
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(nlohmann::json::parse(all[0]).at("msg"), "line1\nline2");
}

TEST_F(LoggerTest, FieldsCannotOverrideTheLeadingKeys) {
  logger log(log_level::info, file_);
  log.write(log_level::info, "real", {{"msg", "fake"}, {"level", "debug"}, {"n", 1}});
  const auto json = nlohmann::json::parse(lines(log).at(0));
  EXPECT_EQ(json.at("msg"), "real");
  EXPECT_EQ(json.at("level"), "info");
  EXPECT_EQ(json.at("n"), 1);
}

TEST_F(LoggerTest, NonObjectFieldsAreKeptUnderFields) {
  logger log(log_level::info, file_);
  log.write(log_level::info, "m", nlohmann::json::array({1, 2}));
  const auto json = nlohmann::json::parse(lines(log).at(0));
  EXPECT_EQ(json.at("fields"), nlohmann::json::array({1, 2}));
}

TEST_F(LoggerTest, ConcurrentWritersNeverInterleaveLines) {
  logger log(log_level::info, file_);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&log, t] {
      for (int i = 0; i < 200; ++i) {
        log.write(log_level::info, std::string(300, static_cast<char>('a' + t)), {{"i", i}});
      }
    });
  }
  for (auto& thread : threads) thread.join();
  const auto all = lines(log);
  ASSERT_EQ(all.size(), 800u);
  for (const auto& line : all) ASSERT_TRUE(nlohmann::json::accept(line)) << line;
}

TEST_F(LoggerTest, WriteFieldsBuildsTheSameLineWithoutATree) {
  logger log(log_level::info, file_);
  log.write_fields(log_level::info, "request", [](json_writer& line) {
    line.member("app_key", "k1");
    line.member("duration_ms", 1.0);
    line.member("path", "/v4/\"quoted\"\n\xff");
    line.member("status", 401);
  });
  log.write_fields(log_level::debug, "dropped below the level", [](json_writer& line) {
    ADD_FAILURE() << "fields of a disabled level are not even built";
    line.member("x", 1);
  });
  const auto all = lines(log);
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].rfind("{\"time\":\"", 0), 0u);
  EXPECT_NE(all[0].find(R"("level":"info","msg":"request","app_key":"k1","duration_ms":1.0,)"),
            std::string::npos)
      << all[0];
  const auto json = nlohmann::json::parse(all[0]);
  EXPECT_EQ(json.at("path"), "/v4/\"quoted\"\n\xEF\xBF\xBD");
  EXPECT_EQ(json.at("status"), 401);
  EXPECT_EQ(json.size(), 7u);
}

TEST_F(LoggerTest, DroppedLinesAreCountedNotBlocked) {
  // A pipe nobody reads, and room for a few lines only.
  std::signal(SIGPIPE, SIG_IGN);  // as main() does: a closed pipe is an error, not a signal
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  std::FILE* stalled = ::fdopen(fds[1], "w");
  ASSERT_NE(stalled, nullptr);
  {
    logger log(log_level::info, stalled,
               {.chunk_bytes = 1024,
                .max_pending_bytes = 4096,
                .flush_interval = std::chrono::milliseconds(1)});
    for (int i = 0; i < 2000; ++i) log.write(log_level::info, std::string(200, 'x'));
    EXPECT_GT(log.dropped(), 1000u);
    ::close(fds[0]);  // the writer's blocked write now fails, and stop() can end
    EXPECT_TRUE(log.stop(std::chrono::seconds(10)));
  }
  std::fclose(stalled);
}

TEST(LogLevelNames, ToString) {
  EXPECT_EQ(to_string(log_level::debug), "debug");
  EXPECT_EQ(to_string(log_level::info), "info");
  EXPECT_EQ(to_string(log_level::warn), "warn");
  EXPECT_EQ(to_string(log_level::error), "error");
}

}  // namespace
}  // namespace image_gateway
