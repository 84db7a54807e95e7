// The real image-gateway executable: command line, start and stop lines, SIGTERM drain, and a
// stdout of JSON lines without secrets. OPPO and the origin are in-process fakes.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "fakes/test_servers.hpp"
#include "image_gateway/util/sample_images.hpp"
#include "image_gateway/util/strings.hpp"

extern char** environ;

namespace image_gateway::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

const std::string binary = IMAGE_GATEWAY_BINARY;

// The caller's and OPPO's secrets reach the process only through ${ENV} in its config.
constexpr const char* caller_secret = "drain-caller-secret-5Kq";

// A temporary file removed at the end of the test.
class temp_file {
 public:
  explicit temp_file(const std::string& text) {
    char name[] = "/tmp/igw-drain-XXXXXX";
    const int fd = ::mkstemp(name);
    path_ = name;
    if (fd >= 0) {
      (void)!::write(fd, text.data(), text.size());
      ::close(fd);
    }
  }
  ~temp_file() { std::filesystem::remove(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A child process with stdout and stderr captured by reader threads.
class child_process {
 public:
  child_process(const std::vector<std::string>& args, const std::vector<std::string>& extra_env) {
    int out[2], err[2];
    if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0) return;
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out[1], 1);
    posix_spawn_file_actions_adddup2(&actions, err[1], 2);
    std::vector<std::string> env_text;
    for (char** e = environ; *e != nullptr; ++e) {
      const std::string entry = *e;
      // No proxy or config from the test's environment leaks in.
      if (entry.starts_with("IMAGE_GATEWAY_CONFIG=")) continue;
      env_text.push_back(entry);
    }
    env_text.insert(env_text.end(), extra_env.begin(), extra_env.end());
    std::vector<char*> argv, envp;
    std::vector<std::string> arg_text = args;
    arg_text.insert(arg_text.begin(), binary);
    for (auto& a : arg_text) argv.push_back(a.data());
    argv.push_back(nullptr);
    for (auto& e : env_text) envp.push_back(e.data());
    envp.push_back(nullptr);
    if (::posix_spawn(&pid_, binary.c_str(), &actions, nullptr, argv.data(), envp.data()) != 0) {
      pid_ = -1;
    }
    posix_spawn_file_actions_destroy(&actions);
    ::close(out[1]);
    ::close(err[1]);
    out_reader_ = std::thread([this, fd = out[0]] { pump(fd, stdout_, &stdout_paused_); });
    err_reader_ = std::thread([this, fd = err[0]] { pump(fd, stderr_, nullptr); });
  }

  ~child_process() {
    pause_stdout(false);
    if (pid_ > 0 && !exit_status_) {
      ::kill(pid_, SIGKILL);
      wait_exit(5s);
    }
    if (out_reader_.joinable()) out_reader_.join();
    if (err_reader_.joinable()) err_reader_.join();
  }

  bool started() const { return pid_ > 0; }
  void signal(int number) { ::kill(pid_, number); }
  // Stops (true) or resumes (false) reading the child's stdout: a stalled log pipe.
  void pause_stdout(bool paused) {
    {
      std::lock_guard lock(mutex_);
      stdout_paused_ = paused;
    }
    changed_.notify_all();
  }

  // The exit code, or nullopt when it did not exit within `limit` (or died by a signal: -signo).
  std::optional<int> wait_exit(std::chrono::milliseconds limit) {
    const auto give_up = std::chrono::steady_clock::now() + limit;
    while (!exit_status_) {
      int status = 0;
      const pid_t done = ::waitpid(pid_, &status, WNOHANG);
      if (done == pid_) {
        exit_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
        break;
      }
      if (std::chrono::steady_clock::now() >= give_up) return std::nullopt;
      std::this_thread::sleep_for(10ms);
    }
    // The pipes close with the process: let the readers drain them.
    pause_stdout(false);
    if (out_reader_.joinable()) out_reader_.join();
    if (err_reader_.joinable()) err_reader_.join();
    return exit_status_;
  }

  std::string out() const {
    std::lock_guard lock(mutex_);
    return stdout_;
  }
  std::string err() const {
    std::lock_guard lock(mutex_);
    return stderr_;
  }

  // Waits (bounded) for a stdout JSON line whose msg is `message`; returns it.
  std::optional<json> wait_for_line(const std::string& message, std::chrono::milliseconds limit) {
    std::unique_lock lock(mutex_);
    std::optional<json> found;
    changed_.wait_for(lock, limit, [&] {
      std::istringstream in(stdout_);
      for (std::string line; std::getline(in, line);) {
        const json parsed = json::parse(line, nullptr, false);
        if (!parsed.is_discarded() && parsed.value("msg", "") == message) {
          found = parsed;
          return true;
        }
      }
      return false;
    });
    return found;
  }

 private:
  void pump(int fd, std::string& into, const bool* paused) {
    char chunk[4096];
    for (;;) {
      if (paused != nullptr) {
        std::unique_lock lock(mutex_);
        changed_.wait(lock, [&] { return !*paused; });
      }
      const ssize_t n = ::read(fd, chunk, sizeof chunk);
      if (n <= 0) break;
      {
        std::lock_guard lock(mutex_);
        into.append(chunk, static_cast<std::size_t>(n));
      }
      changed_.notify_all();
    }
    ::close(fd);
  }

  pid_t pid_ = -1;
  std::optional<int> exit_status_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::string stdout_, stderr_;
  bool stdout_paused_ = false;
  std::thread out_reader_, err_reader_;
};

// A config for the real binary against the fakes; secrets as ${ENV}.
std::string config_text(const std::string& oppo_url, int drain_ms) {
  const json config = {{"server",
                        {{"listen", "127.0.0.1:0"},
                         {"threads", 2},
                         {"drain_ms", drain_ms},
                         {"request_deadline_ms", 5000},
                         {"idle_timeout_ms", 30000}}},
                       {"apps",
                        {{{"app_key", test_app_key},
                          {"master_secret", "${IGW_DRAIN_CALLER_SECRET}"},
                          {"oppo",
                           {{"app_key", fake_oppo_server::default_oppo_app().app_key},
                            {"master_secret", "${IGW_DRAIN_OPPO_SECRET}"}}}}}},
                       {"oppo",
                        {{"auth_base_url", oppo_url},
                         {"media_base_url", oppo_url},
                         {"timeout_ms", 2000},
                         {"connect_timeout_ms", 1000}}},
                       {"fetch", {{"allow_networks", {"127.0.0.0/8"}}, {"timeout_ms", 4000}}},
                       {"log", {{"level", "info"}}}};
  return config.dump(2);
}

std::vector<std::string> secret_env() {
  return {std::string("IGW_DRAIN_CALLER_SECRET=") + caller_secret,
          "IGW_DRAIN_OPPO_SECRET=" + fake_oppo_server::default_oppo_app().master_secret};
}

client_response post_to(const std::string& base, const std::string& body,
                        const std::string& password = caller_secret) {
  return http_call("POST", base + "/v4/image/oppo", body,
                   {basic_header(test_app_key, password), "X-Request-Id: drain-test"});
}

class DrainTest : public ::testing::Test {
 protected:
  void SetUp() override {
    origin.serve("/big.png", samples::png(984, 369, 41));
    origin.serve("/small.png", samples::png(144, 144, 42));
    origin.serve("/slow.png", samples::png(984, 369, 43));
    origin.delay("/slow.png", 1500ms);  // outlives the drain windows, well inside every time-out
  }

  // Starts the binary and reads its start line; base_url is then http://127.0.0.1:PORT.
  child_process& launch(int drain_ms) {
    config_file = std::make_unique<temp_file>(config_text(oppo.base_url(), drain_ms));
    process = std::make_unique<child_process>(
        std::vector<std::string>{"--config", config_file->path()}, secret_env());
    EXPECT_TRUE(process->started());
    const auto listening = process->wait_for_line("listening", 10s);
    EXPECT_TRUE(listening.has_value()) << process->out() << process->err();
    if (listening) {
      const std::string address = listening->value("address", "");
      base_url = "http://" + address;
      port = static_cast<unsigned short>(std::stoi(address.substr(address.rfind(':') + 1)));
    }
    return *process;
  }

  std::string body(const std::string& big, const std::string& small = "") {
    json request = json::object();
    request["big_picture_url"] = origin.url(big);
    if (!small.empty()) request["small_picture_url"] = origin.url(small);
    return request.dump();
  }

  // Waits (bounded) until the origin has seen a request for `path`: the request is in flight.
  bool wait_for_origin(const std::string& path) {
    for (int i = 0; i < 500; ++i) {
      if (origin.hits(path) > 0) return true;
      std::this_thread::sleep_for(10ms);
    }
    return false;
  }

  // Every stdout line is JSON with time, level and msg; no secret anywhere in the output.
  void expect_clean_output(const std::vector<std::string>& also_secret = {}) {
    const std::string out = process->out();
    std::istringstream in(out);
    int lines = 0;
    for (std::string line; std::getline(in, line);) {
      ++lines;
      const json parsed = json::parse(line, nullptr, false);
      ASSERT_FALSE(parsed.is_discarded()) << "not JSON: " << line;
      EXPECT_TRUE(parsed.contains("time") && parsed.contains("level") && parsed.contains("msg"))
          << line;
      if (parsed.value("msg", "") == "request") {
        EXPECT_FALSE(parsed.value("request_id", "").empty()) << line;
      }
    }
    EXPECT_GT(lines, 0);
    std::vector<std::string> secrets = {
        caller_secret, fake_oppo_server::default_oppo_app().master_secret,
        base64_encode(std::string(test_app_key) + ":" + caller_secret)};
    const std::string token = oppo.api().stats().last_upload_token;
    if (!token.empty()) secrets.push_back(token);
    secrets.insert(secrets.end(), also_secret.begin(), also_secret.end());
    for (const auto& secret : secrets) {
      EXPECT_EQ(out.find(secret), std::string::npos) << "'" << secret << "' on stdout";
      EXPECT_EQ(process->err().find(secret), std::string::npos) << "'" << secret << "' on stderr";
    }
  }

  fake_origin origin;
  fake_oppo_server oppo;
  std::unique_ptr<temp_file> config_file;
  std::unique_ptr<child_process> process;
  std::string base_url;
  unsigned short port = 0;
};

TEST_F(DrainTest, SigtermDrainsServesInFlightAndExitsZero) {
  auto& gw = launch(1000);
  ASSERT_FALSE(base_url.empty());
  ASSERT_EQ(http_call("GET", base_url + "/readyz").status, 200);

  auto slow = std::async(std::launch::async, [&] { return post_to(base_url, body("/slow.png")); });
  ASSERT_TRUE(wait_for_origin("/slow.png"));
  gw.signal(SIGTERM);
  ASSERT_TRUE(gw.wait_for_line("draining", 5s).has_value()) << gw.out();

  const auto ready = http_call("GET", base_url + "/readyz");
  EXPECT_EQ(ready.status, 503);
  EXPECT_EQ(json::parse(ready.body, nullptr, false).value("status", ""), "draining");
  EXPECT_EQ(http_call("GET", base_url + "/healthz").status, 200);
  // Inside the drain window a new connection and a new request are still served normally.
  const auto during = post_to(base_url, body("/big.png", "/small.png"));
  EXPECT_EQ(during.status, 200) << during.body << during.error;

  const auto slow_answer = slow.get();
  EXPECT_EQ(slow_answer.status, 200) << slow_answer.body << slow_answer.error;
  EXPECT_FALSE(json::parse(slow_answer.body, nullptr, false).value("big_picture_id", "").empty());

  const auto code = gw.wait_exit(10s);
  ASSERT_TRUE(code.has_value()) << "did not exit within 10 s\n" << gw.out();
  EXPECT_EQ(*code, 0) << gw.err();
  ASSERT_TRUE(gw.wait_for_line("drain window over, no longer accepting", 0ms).has_value());
  const auto stopped = gw.wait_for_line("stopped", 0ms);
  ASSERT_TRUE(stopped.has_value()) << gw.out();
  EXPECT_EQ(stopped->value("forced", true), false);
  // After the exit nothing listens any more.
  EXPECT_NE(http_call("GET", base_url + "/healthz").error, "");
  expect_clean_output();
}

TEST_F(DrainTest, KeepAliveConnectionAfterTheWindowIsClosedOrRefused) {
  auto& gw = launch(200);
  ASSERT_NE(port, 0);
  raw_connection idle(port);
  ASSERT_TRUE(idle.connected());
  ASSERT_TRUE(idle.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
  ASSERT_EQ(idle.read_response().status, 200);

  // A slow request keeps the process alive past the window.
  auto slow = std::async(std::launch::async, [&] { return post_to(base_url, body("/slow.png")); });
  ASSERT_TRUE(wait_for_origin("/slow.png"));
  gw.signal(SIGTERM);
  ASSERT_TRUE(gw.wait_for_line("drain window over, no longer accepting", 5s).has_value());

  // The kept-alive connection gets a 503 27000, or was closed as idle: never served normally.
  const std::string request = "POST /v4/image/oppo HTTP/1.1\r\nHost: 127.0.0.1\r\n" +
                              basic_header(test_app_key, caller_secret) +
                              "\r\nContent-Length: 2\r\n\r\n{}";
  if (idle.send(request)) {
    const auto answer = idle.read_response();
    if (answer.status != 0) {
      EXPECT_EQ(answer.status, 503);
      EXPECT_EQ(json::parse(answer.body, nullptr, false)["error"].value("code", 0), 27000);
      EXPECT_FALSE(answer.header("retry-after").empty());
    }
  }
  // A new connection is no longer accepted.
  EXPECT_NE(http_call("GET", base_url + "/healthz").status, 200);

  EXPECT_EQ(slow.get().status, 200);
  const auto code = gw.wait_exit(10s);
  ASSERT_TRUE(code.has_value()) << gw.out();
  EXPECT_EQ(*code, 0) << gw.err();
  expect_clean_output();
}

TEST_F(DrainTest, SecondSignalStopsAtOnce) {
  auto& gw = launch(30000);  // a drain window far longer than the test waits
  ASSERT_FALSE(base_url.empty());
  auto slow = std::async(std::launch::async, [&] { return post_to(base_url, body("/slow.png")); });
  ASSERT_TRUE(wait_for_origin("/slow.png"));
  gw.signal(SIGTERM);
  ASSERT_TRUE(gw.wait_for_line("draining", 5s).has_value());
  gw.signal(SIGTERM);
  const auto code = gw.wait_exit(5s);
  ASSERT_TRUE(code.has_value()) << gw.out();
  EXPECT_EQ(*code, 1);  // a request was cut off
  const auto stopped = gw.wait_for_line("stopped", 0ms);
  ASSERT_TRUE(stopped.has_value()) << gw.out();
  EXPECT_EQ(stopped->value("forced", false), true);
  EXPECT_NE(slow.get().status, 200);
}

TEST_F(DrainTest, StdoutLinesAreJsonWithoutSecrets) {
  auto& gw = launch(0);
  ASSERT_FALSE(base_url.empty());
  ASSERT_EQ(post_to(base_url, body("/big.png", "/small.png")).status, 200);
  const std::string wrong = "wrong-password-for-drain-3Jd";
  ASSERT_EQ(post_to(base_url, body("/big.png"), wrong).status, 401);
  ASSERT_EQ(http_call("GET", base_url + "/nowhere").status, 404);
  ASSERT_FALSE(oppo.api().stats().last_upload_token.empty());
  gw.signal(SIGINT);
  const auto code = gw.wait_exit(10s);
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(*code, 0);

  const auto listening = gw.wait_for_line("listening", 0ms);
  ASSERT_TRUE(listening.has_value());
  EXPECT_EQ(listening->value("version", ""), IMAGE_GATEWAY_VERSION);
  int requests = 0;
  std::istringstream in(gw.out());
  for (std::string line; std::getline(in, line);) {
    const json parsed = json::parse(line, nullptr, false);
    if (parsed.is_discarded() || parsed.value("msg", "") != "request") continue;
    ++requests;
    EXPECT_EQ(parsed.value("level", ""), "info");
  }
  EXPECT_EQ(requests, 3);
  expect_clean_output({wrong, base64_encode(std::string(test_app_key) + ":" + wrong)});
}

// ---- the command line ----

struct run_result {
  int code = -1;
  std::string out, err;
};

run_result run(const std::vector<std::string>& args, const std::vector<std::string>& env = {}) {
  child_process child(args, env);
  run_result result;
  const auto code = child.wait_exit(10s);
  result.code = code.value_or(-999);
  result.out = child.out();
  result.err = child.err();
  return result;
}

std::size_t count_lines(const std::string& text) {
  return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
}

TEST(CommandLine, VersionAndHelpExitZero) {
  const auto version = run({"--version"});
  EXPECT_EQ(version.code, 0);
  EXPECT_EQ(version.out, std::string("image-gateway ") + IMAGE_GATEWAY_VERSION + "\n");
  const auto help = run({"--help"});
  EXPECT_EQ(help.code, 0);
  EXPECT_NE(help.out.find("--check-config"), std::string::npos);
  EXPECT_NE(help.out.find("SIGTERM"), std::string::npos);
}

TEST(CommandLine, CheckConfigAcceptsAGoodFile) {
  const temp_file file(config_text("http://127.0.0.1:9", 100));
  const auto result = run({"--check-config", "--config", file.path()}, secret_env());
  EXPECT_EQ(result.code, 0) << result.err;
  EXPECT_NE(result.out.find("configuration OK"), std::string::npos);
  // The environment variable works as well as --config.
  const auto via_env = run({"--check-config"}, {"IMAGE_GATEWAY_CONFIG=" + file.path(),
                                                secret_env()[0], secret_env()[1]});
  EXPECT_EQ(via_env.code, 0) << via_env.err;
}

TEST(CommandLine, BadConfigurationsExitTwoWithOneLine) {
  const temp_file unknown_key(R"({"apps":[],"sever":{}})");
  const temp_file not_json("{ this is not json");
  const temp_file good(config_text("http://127.0.0.1:9", 100));
  struct bad_case {
    std::vector<std::string> args;
    std::vector<std::string> env;
    std::string says;
  };
  const std::vector<bad_case> cases = {
      {{"--check-config", "--config", unknown_key.path()}, {}, "sever"},
      {{"--check-config", "--config", not_json.path()}, {}, "bad configuration"},
      {{"--check-config", "--config", "/nonexistent/igw.json"}, {}, "bad configuration"},
      {{"--check-config", "--config", good.path()}, {}, "IGW_DRAIN_CALLER_SECRET"},  // unset
      {{"--config", unknown_key.path()}, {}, "sever"},  // the same without --check-config
      {{"--bogus"}, {}, "unknown argument"},
      {{}, {}, "no configuration"},
  };
  for (const auto& c : cases) {
    const auto result = run(c.args, c.env);
    std::string args;
    for (const auto& a : c.args) args += a + " ";
    EXPECT_EQ(result.code, 2) << args << result.err;
    EXPECT_NE(result.err.find(c.says), std::string::npos) << args << result.err;
    EXPECT_EQ(result.err.find("terminate called"), std::string::npos) << result.err;
    // One line of reason (the usage text may precede an unknown argument).
    const std::string last_line = result.err.substr(result.err.rfind("image-gateway: "));
    EXPECT_EQ(count_lines(last_line), 1U) << result.err;
    EXPECT_EQ(result.out, "") << args;
  }
}

// ---- the access log (docs/operations.md#logs): buffered, bounded, complete at a clean exit ----

// The lines of `out` whose msg is `message`.
std::vector<json> lines_with_msg(const std::string& out, const std::string& message) {
  std::vector<json> found;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) {
    const json parsed = json::parse(line, nullptr, false);
    if (!parsed.is_discarded() && parsed.value("msg", "") == message) found.push_back(parsed);
  }
  return found;
}

// One keep-alive connection sending requests one after another; reconnects when closed.
raw_response raw_get(std::unique_ptr<raw_connection>& connection, unsigned short port,
                     const std::string& target) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (connection == nullptr || !connection->connected()) {
      connection = std::make_unique<raw_connection>(port);
    }
    if (connection->send("GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")) {
      raw_response response = connection->read_response();
      if (response.status != 0) return response;
    }
    connection.reset();
  }
  return {};
}

TEST_F(DrainTest, EveryRequestLineIsWrittenBeforeACleanExit) {
  auto& gw = launch(0);
  ASSERT_NE(port, 0);
  constexpr int requests = 300;
  std::unique_ptr<raw_connection> connection;
  for (int i = 0; i < requests; ++i) {
    ASSERT_EQ(raw_get(connection, port, "/healthz").status, 200) << "request " << i;
  }
  // At once: the last lines are still in the logger's buffer (it writes every 200 ms).
  gw.signal(SIGTERM);
  const auto code = gw.wait_exit(20s);
  ASSERT_TRUE(code.has_value()) << gw.out();
  EXPECT_EQ(*code, 0) << gw.err();
  EXPECT_EQ(lines_with_msg(gw.out(), "request").size(), static_cast<std::size_t>(requests));
  EXPECT_EQ(lines_with_msg(gw.out(), "stopped").size(), 1u);
  expect_clean_output();
}

TEST_F(DrainTest, AStalledStdoutNeitherBlocksRequestsNorTheExitAndDropsAreCounted) {
  auto& gw = launch(0);
  ASSERT_NE(port, 0);
  gw.pause_stdout(true);  // from now on nobody reads the log pipe
  // Each request logs its ~7 KB path: 1,500 of them are far more than the pipe (64 KiB) and the
  // logger's buffer (8 MiB) hold together.
  const std::string target = "/" + std::string(7000, 'p');
  constexpr int requests = 1500;
  std::unique_ptr<raw_connection> connection;
  for (int i = 0; i < requests; ++i) {
    // Each answer comes within raw_connection's bounded wait: the I/O thread never waits for
    // the log.
    ASSERT_EQ(raw_get(connection, port, target).status, 404) << "request " << i;
  }
  const raw_response metrics = raw_get(connection, port, "/metrics");
  ASSERT_EQ(metrics.status, 200);
  const std::string name = "image_gateway_log_lines_dropped_total ";
  const auto at = metrics.body.find("\n" + name);
  ASSERT_NE(at, std::string::npos) << metrics.body;
  const double dropped = std::stod(metrics.body.substr(at + 1 + name.size()));
  EXPECT_GT(dropped, 100) << "about 2 MB of 7 KB lines did not fit";
  EXPECT_LT(dropped, requests);

  // A clean exit while nobody reads: bounded (the logger gives up on stdout after 5 s).
  connection.reset();
  gw.signal(SIGTERM);
  const auto code = gw.wait_exit(30s);
  ASSERT_TRUE(code.has_value()) << "a blocked stdout held the exit";
  EXPECT_EQ(*code, 0) << gw.err();
}

}  // namespace
}  // namespace image_gateway::testing
