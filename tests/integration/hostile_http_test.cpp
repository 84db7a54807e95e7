// Hostile and careless clients at the HTTP layer (issue 16): nothing is read or held for a
// caller before its credentials are known, bodies of admitted callers share one budget, the
// server answers when descriptors run out instead of spinning, HTTP is read exactly (HEAD,
// absolute-form, userinfo, Host, Authorization, chunked parameters, an empty line, a
// half-close), and a client that leaves is counted as such. Raw sockets over loopback.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "fakes/raw_origin.hpp"
#include "fakes/test_servers.hpp"
#include "image_gateway/util/sample_images.hpp"
#include "support/gateway_fixture.hpp"

// The sanitizers' runtime needs descriptors of its own: with none left to the process it reports
// (and then hangs) from inside the server. The descriptor test runs in the other builds.
#include "support/sanitized.hpp"

namespace image_gateway::testing {
namespace {

using nlohmann::json;
using clock_type = std::chrono::steady_clock;

std::string auth() { return basic_header(test_app_key, test_app_secret) + "\r\n"; }

// This process's resident memory (the server runs in it), in bytes.
std::size_t resident_bytes() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.starts_with("VmRSS:")) return std::stoull(line.substr(6)) * 1024;
  }
  return 0;
}

// CPU time this process has used (all threads, user and system), in clock ticks, read from
// `stat_fd`, /proc/self/stat opened beforehand (no descriptor may be left to open it now).
long cpu_ticks(int stat_fd) {
  std::array<char, 1024> buffer{};
  const ssize_t n = ::pread(stat_fd, buffer.data(), buffer.size() - 1, 0);
  const std::string text(buffer.data(), n > 0 ? static_cast<std::size_t>(n) : 0);
  // Fields after the command name (which may hold spaces) in parentheses: state is field 3,
  // utime 14, stime 15.
  std::istringstream rest(text.substr(text.rfind(')') + 2));
  std::string field;
  long utime = 0;
  long stime = 0;
  for (int index = 3; index <= 15 && rest >> field; ++index) {
    if (index == 14) utime = std::stol(field);
    if (index == 15) stime = std::stol(field);
  }
  return utime + stime;
}

// The head of a multipart POST that declares a 1.2 MB body, with `extra` header lines.
std::string multipart_head(std::string_view extra) {
  return "POST /v4/image/oppo HTTP/1.1\r\nHost: a\r\n"
         "Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 1200000\r\n" +
         std::string(extra) + "\r\n";
}

class HostileHttpTest : public gateway_fixture {};

// ------------------------------------------------------------ nothing before credentials

// 200 callers without credentials each offer a 1.2 MB multipart body: each is answered 401 on
// its header, before the body is complete, and the bytes they push afterwards are not kept.
TEST_F(HostileHttpTest, UnauthenticatedBodiesAreNeitherReadNorHeld) {
  auto& gw = start();
  constexpr int callers = 200;
  const std::string first_piece(16 * 1024, 'x');
  const std::size_t before = resident_bytes();

  std::vector<std::unique_ptr<abuse_client>> clients;
  for (int i = 0; i < callers; ++i) {
    clients.push_back(std::make_unique<abuse_client>(gw.port()));
    ASSERT_TRUE(clients.back()->connected());
    clients.back()->send(multipart_head("") + first_piece);
  }
  // Answered with 1.18 MB still to come.
  for (auto& client : clients) {
    ASSERT_TRUE(client->read_until("\r\n\r\n")) << client->received();
    EXPECT_EQ(client->received().rfind("HTTP/1.1 401 ", 0), 0U) << client->received();
    EXPECT_NE(client->received().find("\r\nConnection: close\r\n"), std::string::npos);
  }
  // The rest of every body, pushed as fast as the gateway lets it in: none of it is kept.
  const std::string piece(64 * 1024, 'y');
  for (std::size_t sent = first_piece.size(); sent < 1200000; sent += piece.size()) {
    for (auto& client : clients) client->send_some(piece);
  }
  for (auto& client : clients) EXPECT_TRUE(client->read_until_closed(5s));
  const std::size_t after = resident_bytes();
  // 200 bodies held would be 240 MB; what 200 connections cost the server is far below 32 MB.
  EXPECT_LT(after, before + 32 * 1024 * 1024) << "grew from " << before << " to " << after;
  EXPECT_EQ(gw.log_output().find("\"status\":400"), std::string::npos);
}

// Expect: 100-continue invites the body only once route, credentials and rate limit passed.
TEST_F(HostileHttpTest, NoContinueBeforeCredentials) {
  auto& gw = start();
  abuse_client stranger(gw.port());
  stranger.send(multipart_head("Expect: 100-continue\r\n"));
  ASSERT_TRUE(stranger.read_until_closed());
  EXPECT_EQ(stranger.received().rfind("HTTP/1.1 401 ", 0), 0U) << stranger.received();
  EXPECT_EQ(stranger.received().find("100 Continue"), std::string::npos);

  abuse_client nowhere(gw.port());
  nowhere.send(
      "POST /v4/image/nowhere HTTP/1.1\r\nHost: a\r\nContent-Length: 1000000\r\n"
      "Expect: 100-continue\r\n\r\n");
  ASSERT_TRUE(nowhere.read_until_closed());
  EXPECT_EQ(nowhere.received().rfind("HTTP/1.1 404 ", 0), 0U) << nowhere.received();

  abuse_client caller(gw.port());
  caller.send(multipart_head(auth() + "Expect: 100-continue\r\n"));
  ASSERT_TRUE(caller.read_until("\r\n\r\n"));
  EXPECT_EQ(caller.received(), "HTTP/1.1 100 Continue\r\n\r\n");
}

// The rate limit is judged on the header too: a 429 comes before the body.
TEST_F(HostileHttpTest, RateLimitIsDecidedOnTheHeader) {
  config c = settings();
  c.apps[0].rate_limit_per_s = 0.1;  // one token
  auto& gw = start(std::move(c));
  const std::string small = "POST /v4/image/oppo HTTP/1.1\r\nHost: a\r\n" + auth() +
                            "Content-Length: 2\r\nConnection: close\r\n\r\n{}";
  abuse_client first(gw.port());
  first.send(small);
  ASSERT_TRUE(first.read_until_closed());
  EXPECT_EQ(first.received().rfind("HTTP/1.1 400 ", 0), 0U) << first.received();  // 23002

  abuse_client second(gw.port());
  second.send(multipart_head(auth()) + "only the start of the body");
  ASSERT_TRUE(second.read_until_closed());
  EXPECT_EQ(second.received().rfind("HTTP/1.1 429 ", 0), 0U) << second.received();
  EXPECT_EQ(first_body(second.received())["error"]["code"], 2002);
}

// A refused request with a small declared body: the body is skipped and the connection goes on.
// With a large one, the connection closes after the answer.
TEST_F(HostileHttpTest, ASmallRefusedBodyIsSkippedALargeOneClosesTheConnection) {
  auto& gw = start();
  abuse_client small(gw.port());
  small.send("POST /v4/image/oppo HTTP/1.1\r\nHost: a\r\nContent-Length: 20\r\n\r\n" +
             std::string(20, '{') + "GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n");
  ASSERT_TRUE(small.read_until("{\"status\":\"ok\"}")) << small.received();
  EXPECT_EQ(small.received().rfind("HTTP/1.1 401 ", 0), 0U) << small.received();

  abuse_client large(gw.port());
  large.send("POST /v4/image/oppo HTTP/1.1\r\nHost: a\r\nContent-Length: 70000\r\n\r\n");
  ASSERT_TRUE(large.read_until_closed());
  EXPECT_EQ(large.received().rfind("HTTP/1.1 401 ", 0), 0U) << large.received();
  EXPECT_NE(large.received().find("\r\nConnection: close\r\n"), std::string::npos);
}

// Authenticated callers' bodies share server.max_buffered_body_bytes: over it 503 / 27000 with
// Retry-After, and the budget is free again once those bodies are gone.
TEST_F(HostileHttpTest, AuthenticatedBodiesShareOneBudget) {
  config c = settings();
  c.server.max_buffered_body_bytes = 4 * 1200000;  // four declared bodies of 1.2 MB
  auto& gw = start(std::move(c));
  const std::size_t before = resident_bytes();

  constexpr int callers = 50;
  std::vector<std::unique_ptr<abuse_client>> clients;
  for (int i = 0; i < callers; ++i) {
    clients.push_back(std::make_unique<abuse_client>(gw.port()));
    clients.back()->send(multipart_head(auth()) + std::string(16 * 1024, 'x'));
  }
  int refused = 0;
  std::vector<abuse_client*> admitted;
  for (auto& client : clients) {
    if (!client->read_until("\r\n\r\n", 1s)) {
      admitted.push_back(client.get());  // reading its body: no answer yet
      continue;
    }
    ++refused;
    EXPECT_EQ(client->received().rfind("HTTP/1.1 503 ", 0), 0U) << client->received();
    EXPECT_NE(client->received().find("\r\nRetry-After: "), std::string::npos);
    ASSERT_TRUE(client->read_until_closed());
    const json body = first_body(client->received());
    EXPECT_EQ(body["error"]["code"], 27000);
    EXPECT_NE(body["error"]["detail"].get<std::string>().find("server.max_buffered_body_bytes"),
              std::string::npos)
        << body;
  }
  EXPECT_EQ(admitted.size(), 4U);
  EXPECT_EQ(refused, callers - 4);
  EXPECT_LT(resident_bytes(), before + 4 * 1200000 + 32 * 1024 * 1024);

  // The admitted callers leave: their shares come back and a new body is read.
  for (auto* client : admitted) client->reset();
  EXPECT_TRUE(eventually([&] {
    const auto response = post_images(gw, "{}");
    return response.status == 400;  // 23002: read and judged, not shed
  }));
  const std::string metrics = http_call("GET", gw.url("/metrics")).body;
  EXPECT_NE(metrics.find("image_gateway_requests_shed_total{reason=\"max_buffered_body_bytes\"} " +
                         std::to_string(callers - 4)),
            std::string::npos)
      << metrics;
}

// -------------------------------------------------------------- out of file descriptors

// With descriptors gone the accept loop answers waiting clients 503 a few at a time instead of
// spinning; /healthz answers again once descriptors are free.
TEST_F(HostileHttpTest, OutOfDescriptorsAnswers503WithoutSpinning) {
#ifdef IGW_SANITIZED
  GTEST_SKIP() << "no descriptor left for the sanitizers' runtime: run in the debug build";
#endif
  config c = settings();
  c.server.header_timeout = 20s;  // the connections that got in stay for the whole test
  auto& gw = start(std::move(c));
  rlimit original{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &original), 0);
  // One socket opened now (no descriptor needed to connect it later), then the limit: what is
  // open plus room for 8 connections.
  const int late_client = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(late_client, 0);
  const int stat_fd = ::open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(stat_fd, 0);
  std::size_t open_now = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
    ++open_now;
  }
  rlimit low = original;
  low.rlim_cur = open_now + 8;
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &low), 0);

  // 60 idle clients from another process (it needs descriptors of its own).
  const pid_t crowd = ::fork();
  ASSERT_GE(crowd, 0);
  if (crowd == 0) {
    rlimit plenty = original;
    ::setrlimit(RLIMIT_NOFILE, &plenty);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(gw.port());
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (int i = 0; i < 60; ++i) {
      const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
      ::connect(fd, reinterpret_cast<const sockaddr*>(&to), sizeof to);
    }
    ::pause();
    ::_exit(0);
  }
  std::this_thread::sleep_for(300ms);  // the crowd is in; the server is out of descriptors
  const long ticks_before = cpu_ticks(stat_fd);
  const auto measured_from = clock_type::now();
  std::this_thread::sleep_for(1s);
  const double seconds = std::chrono::duration<double>(clock_type::now() - measured_from).count();
  const double cpu_share =
      static_cast<double>(cpu_ticks(stat_fd) - ticks_before) / ::sysconf(_SC_CLK_TCK) / seconds;
  // Spinning took a third of a core to a whole one here (less on a loaded machine); answering
  // at EMFILE with pauses takes next to nothing.
  EXPECT_LT(cpu_share, 0.1) << "the accept loop spins";

  // A new client is answered, not left hanging.
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(gw.port());
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(late_client, reinterpret_cast<const sockaddr*>(&to), sizeof to), 0);
  const std::string request = "GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n";
  ASSERT_EQ(::send(late_client, request.data(), request.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(request.size()));
  std::string answer;
  timeval wait{10, 0};
  ::setsockopt(late_client, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait);
  std::array<char, 4096> chunk{};
  for (ssize_t n; (n = ::recv(late_client, chunk.data(), chunk.size(), 0)) > 0;) {
    answer.append(chunk.data(), static_cast<std::size_t>(n));
  }
  ::close(late_client);
  ::close(stat_fd);
  ::kill(crowd, SIGKILL);
  ::waitpid(crowd, nullptr, 0);
  setrlimit(RLIMIT_NOFILE, &original);

  EXPECT_EQ(answer.rfind("HTTP/1.1 503 ", 0), 0U) << answer;
  EXPECT_NE(answer.find("\r\nRetry-After: "), std::string::npos) << answer;
  EXPECT_EQ(first_body(answer)["error"]["code"], 27000);
  EXPECT_NE(gw.log_output().find("out of file descriptors"), std::string::npos);
  // Descriptors are free again: served as ever.
  EXPECT_TRUE(eventually([&] { return http_call("GET", gw.url("/healthz")).status == 200; }));
}

// ------------------------------------------------------------------------ exact HTTP

TEST_F(HostileHttpTest, HeadHasTheHeadersOfAGetAndNoBody) {
  auto& gw = start();
  const auto get = http_call("GET", gw.url("/healthz"));
  abuse_client client(gw.port());
  // HEAD, then GET on the same connection: the GET's answer must follow the HEAD's header block
  // directly (a HEAD body would be read as the start of the next answer).
  client.send(
      "HEAD /healthz HTTP/1.1\r\nHost: a\r\n\r\n"
      "HEAD /nowhere HTTP/1.1\r\nHost: a\r\n\r\n"
      "GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n");
  ASSERT_TRUE(client.read_until("{\"status\":\"ok\"}")) << client.received();
  const std::string& received = client.received();
  EXPECT_EQ(received.rfind("HTTP/1.1 200 ", 0), 0U) << received;
  EXPECT_NE(received.find("Content-Length: " + std::to_string(get.body.size()) + "\r\n"),
            std::string::npos)
      << received;
  const std::size_t second = received.find("\r\n\r\n") + 4;
  EXPECT_EQ(received.compare(second, 13, "HTTP/1.1 404 "), 0) << received;
  const std::size_t third = received.find("\r\n\r\n", second) + 4;
  EXPECT_EQ(received.compare(third, 13, "HTTP/1.1 200 "), 0) << received;
  EXPECT_EQ(received.substr(received.size() - get.body.size()), get.body);
}

TEST_F(HostileHttpTest, AbsoluteFormTargetsAreRoutedByTheirPath) {
  auto& gw = start();
  abuse_client client(gw.port());
  client.send("GET http://127.0.0.1:" + std::to_string(gw.port()) +
              "/healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
  ASSERT_TRUE(client.read_until_closed());
  EXPECT_EQ(client.received().rfind("HTTP/1.1 200 ", 0), 0U) << client.received();
}

TEST_F(HostileHttpTest, UserinfoInTheTargetIsRefusedAndNeverRepeated) {
  auto& gw = start();
  abuse_client client(gw.port());
  client.send(
      "POST http://key:SECRET-in-target@gateway/v4/image/oppo HTTP/1.1\r\nHost: gateway\r\n"
      "Content-Length: 2\r\n\r\n{}");
  ASSERT_TRUE(client.read_until_closed());
  EXPECT_EQ(client.received().rfind("HTTP/1.1 400 ", 0), 0U) << client.received();
  const json body = first_body(client.received());
  EXPECT_EQ(body["error"]["code"], 21003);
  EXPECT_NE(body["error"]["detail"].get<std::string>().find("userinfo"), std::string::npos);
  EXPECT_EQ(client.received().find("SECRET"), std::string::npos);
  EXPECT_EQ(gw.log_output().find("SECRET"), std::string::npos) << gw.log_output();
}

TEST_F(HostileHttpTest, RefusedHeadersAre400WithTheRuleNamed) {
  auto& gw = start();
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"GET /healthz HTTP/1.1\r\nHost: exa mple.com\r\n\r\n", "Host header"},
      {"GET /healthz HTTP/1.1\r\nHost: a b@c/d\r\n\r\n", "Host header"},
      {"POST /v4/image/oppo HTTP/1.1\r\nHost: a\r\n" + auth() + auth() +
           "Content-Length: 2\r\n\r\n{}",
       "at most one Authorization header"},
      {"POST /v4/image/oppo HTTP/1.1\r\nHost: a\r\n" + auth() +
           "Transfer-Encoding: chunked;foo=bar\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
       "chunked takes no parameters"},
  };
  for (const auto& [raw, rule] : cases) {
    abuse_client client(gw.port());
    client.send(raw);
    ASSERT_TRUE(client.read_until_closed()) << raw;
    EXPECT_EQ(client.received().rfind("HTTP/1.1 400 ", 0), 0U) << raw << client.received();
    const json body = first_body(client.received());
    EXPECT_EQ(body["error"]["code"], 21003) << raw;
    EXPECT_NE(body["error"]["detail"].get<std::string>().find(rule), std::string::npos) << body;
  }
}

TEST_F(HostileHttpTest, OneEmptyLineBeforeTheRequestLineIsIgnored) {
  auto& gw = start();
  abuse_client one(gw.port());
  one.send("\r\nGET /healthz HTTP/1.1\r\nHost: a\r\n\r\n");
  ASSERT_TRUE(one.read_until("{\"status\":\"ok\"}")) << one.received();
  // And between requests on a kept connection (a client's CRLF after a POST body).
  one.clear();
  one.send("\r\nGET /healthz HTTP/1.1\r\nHost: a\r\n\r\n");
  ASSERT_TRUE(one.read_until("{\"status\":\"ok\"}")) << one.received();

  abuse_client two(gw.port());
  two.send("\r\n\r\nGET /healthz HTTP/1.1\r\nHost: a\r\n\r\n");
  ASSERT_TRUE(two.read_until_closed());
  EXPECT_EQ(two.received().rfind("HTTP/1.1 400 ", 0), 0U) << two.received();
}

// shutdown(SHUT_WR) after a whole request: the answer still comes, on every route.
TEST_F(HostileHttpTest, AHalfClosedClientGetsItsAnswer) {
  origin.serve("/s.png", samples::png(144, 144, 7));
  auto& gw = start();
  abuse_client health(gw.port());
  health.send("GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n");
  health.half_close();
  ASSERT_TRUE(health.read_until_closed());
  EXPECT_EQ(health.received().rfind("HTTP/1.1 200 ", 0), 0U) << health.received();

  const std::string body = json{{"small_picture_url", origin.url("/s.png")}}.dump();
  abuse_client image(gw.port());
  image.send("POST /v4/image/oppo HTTP/1.1\r\nHost: a\r\n" + auth() +
             "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
  image.half_close();
  ASSERT_TRUE(image.read_until_closed(10s));
  EXPECT_EQ(image.received().rfind("HTTP/1.1 200 ", 0), 0U) << image.received();
  EXPECT_TRUE(first_body(image.received()).contains("small_picture_id")) << image.received();
}

// ------------------------------------------------------------ what is logged is true

// A client that leaves mid-body is counted and logged as gone, not as a malformed request.
TEST_F(HostileHttpTest, AClientGoneMidBodyIsItsOwnOutcome) {
  auto& gw = start();
  {
    abuse_client client(gw.port());
    client.send("POST /v4/image/oppo HTTP/1.1\r\nHost: a\r\n" + auth() +
                "Content-Length: 1000\r\n\r\n{\"small_picture_url\":");
    std::this_thread::sleep_for(100ms);
  }  // closed with 978 bytes of the body missing
  {
    abuse_client client(gw.port());
    client.send("GET /healthz HTTP/1.1\r\nHost: a\r\nX-Pa");
    std::this_thread::sleep_for(100ms);
  }  // and mid-header
  std::string metrics;
  EXPECT_TRUE(eventually([&] {
    metrics = http_call("GET", gw.url("/metrics")).body;
    return metrics.find("image_gateway_requests_total{code=\"0\",status=\"499\"} 2") !=
           std::string::npos;
  })) << metrics;
  EXPECT_EQ(metrics.find("status=\"400\""), std::string::npos) << metrics;
  const std::string log = gw.log_output();
  EXPECT_NE(log.find("\"outcome\":\"client_gone\""), std::string::npos) << log;
  EXPECT_EQ(log.find("bad_json"), std::string::npos) << log;
}

}  // namespace
}  // namespace image_gateway::testing
