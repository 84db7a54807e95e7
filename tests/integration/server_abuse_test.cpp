// The gateway's own HTTP server under abuse (issue 3): oversized and malformed requests,
// slowloris, idle keep-alive, the connection cap, Expect: 100-continue, pipelining, HTTP/1.0,
// and a client that leaves mid-request. Raw sockets, so every byte is ours to choose.
#include <gtest/gtest.h>

#include <future>
#include <nlohmann/json.hpp>
#include <thread>

#include "fakes/raw_origin.hpp"
#include "fakes/test_servers.hpp"
#include "image_gateway/util/sample_images.hpp"
#include "support/gateway_fixture.hpp"

namespace image_gateway::testing {
namespace {

using nlohmann::json;
using clock_type = std::chrono::steady_clock;

std::string auth() { return basic_header(test_app_key, test_app_secret) + "\r\n"; }

// One keep-alive GET /healthz on `client`, answered; the client's buffer is left empty.
bool answers_healthz(abuse_client& client) {
  client.send("GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n");
  const bool answered = client.read_until("{\"status\":\"ok\"}");
  client.clear();
  return answered;
}

class ServerAbuseTest : public gateway_fixture {};

TEST_F(ServerAbuseTest, HeaderBlockOver8KiBGets431) {
  auto& gw = start();
  abuse_client fine(gw.port());
  fine.send("GET /healthz HTTP/1.1\r\nHost: a\r\nX-Pad: " + std::string(7000, 'a') +
            "\r\nConnection: close\r\n\r\n");
  ASSERT_TRUE(fine.read_until_closed());
  EXPECT_EQ(fine.received().rfind("HTTP/1.1 200 ", 0), 0U) << fine.received();

  abuse_client big(gw.port());
  big.send("GET /healthz HTTP/1.1\r\nHost: a\r\nX-Pad: " + std::string(9000, 'a') + "\r\n\r\n");
  ASSERT_TRUE(big.read_until_closed());
  EXPECT_EQ(big.received().rfind("HTTP/1.1 431 ", 0), 0U) << big.received().substr(0, 200);
}

TEST_F(ServerAbuseTest, BodyOverTheLimitGets413WithCode21003) {
  config c = settings();
  c.server.max_body_bytes = 16384;
  auto& gw = start(std::move(c));

  // Refused on Content-Length, before any body byte is sent.
  abuse_client declared(gw.port());
  declared.send("POST /v4/image/oppo HTTP/1.1\r\nHost: a\r\n" + auth() +
                "Content-Length: 20000\r\n\r\n");
  ASSERT_TRUE(declared.read_until_closed());
  EXPECT_EQ(declared.received().rfind("HTTP/1.1 413 ", 0), 0U) << declared.received();
  EXPECT_EQ(first_body(declared.received())["error"]["code"], 21003);

  // A chunked body has no Content-Length: it is counted as it is read.
  abuse_client chunked(gw.port());
  chunked.send("POST /v4/image/oppo HTTP/1.1\r\nHost: a\r\n" + auth() +
               "Transfer-Encoding: chunked\r\n\r\n");
  const std::string chunk = "1000\r\n" + std::string(0x1000, ' ') + "\r\n";
  for (int i = 0; i < 5; ++i) chunked.send(chunk);
  ASSERT_TRUE(chunked.read_until_closed());
  EXPECT_EQ(chunked.received().rfind("HTTP/1.1 413 ", 0), 0U) << chunked.received();
  EXPECT_EQ(first_body(chunked.received())["error"]["code"], 21003);
}

TEST_F(ServerAbuseTest, MalformedRequestLineGets400AndClose) {
  auto& gw = start();
  for (const std::string& line :
       {std::string("GARBAGE\r\n\r\n"), std::string("GET /healthz HTTX/1.1\r\n\r\n"),
        std::string("GET  HTTP/1.1\r\n\r\n"),
        std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11)}) {
    abuse_client client(gw.port());
    client.send(line);
    ASSERT_TRUE(client.read_until_closed()) << line;
    EXPECT_EQ(client.received().rfind("HTTP/1.1 400 ", 0), 0U)
        << line << " -> " << client.received();
  }
}

TEST_F(ServerAbuseTest, Http10WithoutHostIsServedAndClosed) {
  auto& gw = start();
  abuse_client client(gw.port());
  client.send("GET /healthz HTTP/1.0\r\n\r\n");
  ASSERT_TRUE(client.read_until_closed());  // HTTP/1.0 without keep-alive: closed after
  EXPECT_EQ(client.received().rfind("HTTP/1.0 200 ", 0), 0U) << client.received();
  EXPECT_EQ(first_body(client.received())["status"], "ok");
}

TEST_F(ServerAbuseTest, PipelinedRequestsAreAnsweredInOrder) {
  origin.serve("/s.png", samples::png(144, 144, 21));
  origin.delay("/s.png", 300ms);
  auto& gw = start();
  const std::string body = json{{"small_picture_url", origin.url("/s.png")}}.dump();
  abuse_client client(gw.port());
  // One write: a slow image request, then two quick ones that wait their turn.
  client.send("POST /v4/image/oppo HTTP/1.1\r\nHost: a\r\n" + auth() +
              "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body +
              "GET /readyz HTTP/1.1\r\nHost: a\r\n\r\n"
              "GET /nope HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
  ASSERT_TRUE(client.read_until_closed(10s));
  const std::string& raw = client.received();
  const auto first = raw.find("HTTP/1.1 200 ");
  const auto second = raw.find("HTTP/1.1 200 ", first + 1);
  const auto third = raw.find("HTTP/1.1 404 ");
  ASSERT_EQ(first, 0U) << raw;
  ASSERT_NE(second, std::string::npos) << raw;
  ASSERT_NE(third, std::string::npos) << raw;
  EXPECT_LT(second, third);
  EXPECT_NE(raw.find("small_picture_id"), std::string::npos);
  EXPECT_LT(raw.find("small_picture_id"), second);
  EXPECT_NE(raw.find("\"ready\"", second), std::string::npos);
}

// curl sends Expect: 100-continue for bodies over 1 KiB and waits a second for the go-ahead.
TEST_F(ServerAbuseTest, ExpectContinueIsAnsweredBeforeTheBody) {
  auto& gw = start();
  const std::string body = json{{"padding", std::string(2000, 'p')}}.dump();
  abuse_client client(gw.port());
  client.send("POST /v4/image/oppo HTTP/1.1\r\nHost: a\r\n" + auth() + "Content-Length: " +
              std::to_string(body.size()) + "\r\nExpect: 100-continue\r\n\r\n");
  ASSERT_TRUE(client.read_until("\r\n\r\n", 5s)) << client.received();
  EXPECT_EQ(client.received(), "HTTP/1.1 100 Continue\r\n\r\n");
  client.clear();
  client.send(body);
  ASSERT_TRUE(client.read_until("}}"));
  EXPECT_EQ(client.received().rfind("HTTP/1.1 400 ", 0), 0U) << client.received();
  EXPECT_EQ(first_body(client.received())["error"]["code"], 23002);  // no URL in that body

  // And through curl itself, which sends the Expect header for this body size.
  const auto response = http_call("POST", gw.url("/v4/image/oppo"), body,
                                  {basic_header(test_app_key, test_app_secret)});
  EXPECT_EQ(response.status, 400) << response.error;
}

// Fifty connections dripping a header byte at a time: a normal request is still served, and
// each slow connection is closed once header_timeout has passed.
TEST_F(ServerAbuseTest, SlowlorisConnectionsAreClosedWhileOthersAreServed) {
  config c = settings();
  c.server.header_timeout = 1000ms;
  auto& gw = start(std::move(c));

  std::vector<std::unique_ptr<abuse_client>> slow;
  for (int i = 0; i < 50; ++i) {
    slow.push_back(std::make_unique<abuse_client>(gw.port()));
    ASSERT_TRUE(slow.back()->connected());
    slow.back()->send("GET /healthz HTTP/1.1\r\n");
  }
  std::atomic<bool> stop{false};
  std::thread drip([&] {
    while (!stop.load()) {
      for (auto& client : slow) client->send("X");
      std::this_thread::sleep_for(100ms);
    }
  });
  const auto response = http_call("GET", gw.url("/healthz"));
  EXPECT_EQ(response.status, 200) << response.error;

  const bool all_closed = eventually(
      [&] {
        for (auto& client : slow) {
          if (!client->peer_closed()) return false;
        }
        return true;
      },
      8s);
  stop = true;
  drip.join();
  EXPECT_TRUE(all_closed);
  for (auto& client : slow) EXPECT_EQ(client->received().find("HTTP/1.1 200"), std::string::npos);
}

TEST_F(ServerAbuseTest, SlowBodyIsClosedAtTheBodyTimeout) {
  config c = settings();
  c.server.header_timeout = 1000ms;  // the fixture uses it for the body time-out too
  auto& gw = start(std::move(c));
  abuse_client client(gw.port());
  client.send("POST /v4/image/oppo HTTP/1.1\r\nHost: a\r\n" + auth() +
              "Content-Length: 100\r\n\r\n{\"small");
  EXPECT_TRUE(client.read_until_closed(8s));
  EXPECT_EQ(client.received().find("HTTP/1.1 200"), std::string::npos);
}

TEST_F(ServerAbuseTest, IdleKeepAliveConnectionIsClosed) {
  config c = settings();
  c.server.idle_timeout = 500ms;
  auto& gw = start(std::move(c));
  abuse_client client(gw.port());
  ASSERT_TRUE(answers_healthz(client));
  // Kept alive for a second request...
  ASSERT_TRUE(answers_healthz(client));
  // ...then closed once it sits idle.
  EXPECT_TRUE(client.read_until_closed(8s));
}

// The connection's timer is armed for the long idle time-out between requests; a header that
// then starts must still be held to the shorter header_timeout (the deadline moves earlier).
TEST_F(ServerAbuseTest, SlowHeaderOnAKeptAliveConnectionIsClosedAtTheHeaderTimeout) {
  config c = settings();
  c.server.header_timeout = 1000ms;
  c.server.idle_timeout = 60s;
  auto& gw = start(std::move(c));
  abuse_client client(gw.port());
  ASSERT_TRUE(answers_healthz(client));
  // Idle past the first header's time-out, so that only the idle deadline is left armed.
  std::this_thread::sleep_for(1500ms);
  ASSERT_FALSE(client.peer_closed());
  client.send("GET /healthz HTTP/1.1\r\n");
  const auto started = std::chrono::steady_clock::now();
  for (int i = 0; i < 80 && !client.peer_closed(); ++i) {
    client.send("X");
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_TRUE(client.read_until_closed(8s));
  EXPECT_LT(std::chrono::steady_clock::now() - started, 30s);  // the header time-out, not idle
  EXPECT_EQ(client.received().find("HTTP/1.1 200"), std::string::npos);
}

TEST_F(ServerAbuseTest, ConnectionCapRefusesFastWith503) {
  config c = settings();
  c.server.max_connections = 5;
  auto& gw = start(std::move(c));
  std::vector<std::unique_ptr<abuse_client>> idle;
  for (int i = 0; i < 5; ++i) idle.push_back(std::make_unique<abuse_client>(gw.port()));
  ASSERT_TRUE(eventually([&] { return gw.server().server().open_connections() == 5; }));

  abuse_client sixth(gw.port());
  sixth.send("GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n");
  ASSERT_TRUE(sixth.read_until_closed(3s));
  EXPECT_EQ(sixth.received().rfind("HTTP/1.1 503 ", 0), 0U) << sixth.received();
  EXPECT_EQ(first_body(sixth.received())["error"]["code"], 27000);
  EXPECT_NE(sixth.received().find("Retry-After:"), std::string::npos);

  // A freed slot is usable again.
  idle.pop_back();
  ASSERT_TRUE(eventually([&] { return gw.server().server().open_connections() == 4; }));
  const auto response = http_call("GET", gw.url("/healthz"));
  EXPECT_EQ(response.status, 200) << response.error;
}

// The client leaves while its image is being fetched: the fetch is cancelled and the gateway
// hangs up on the origin long before the fetch time-out would have.
TEST_F(ServerAbuseTest, ClientThatLeavesCancelsItsFetch) {
  std::promise<bool> hung_up;
  raw_origin silent([&](origin_connection& connection) {
    if (connection.read_head().empty()) return;
    // Under the fetch's low-speed limit (3 s), which would also end a silent transfer.
    hung_up.set_value(connection.wait_closed(2s));
  });
  config c = settings();
  c.fetch.timeout = 20s;
  c.server.request_deadline = 20s;
  auto& gw = start(std::move(c));

  const std::string body = json{{"small_picture_url", silent.url("/s.png")}}.dump();
  auto client = std::make_unique<abuse_client>(gw.port());
  client->send("POST /v4/image/oppo HTTP/1.1\r\nHost: a\r\n" + auth() +
               "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
  ASSERT_TRUE(eventually([&] { return silent.requests().size() == 1; }));
  // Gone with a reset: a plain close (FIN) looks to the server like a half-close, whose
  // client still waits for its answer.
  client->reset();

  auto future = hung_up.get_future();
  ASSERT_EQ(future.wait_for(10s), std::future_status::ready);
  EXPECT_TRUE(future.get()) << "the gateway kept the origin's connection open";
}

// The same for an upload: OPPO (a raw origin here) answers the token request and then sits on
// the upload; the client leaves and the gateway hangs up on OPPO.
TEST_F(ServerAbuseTest, ClientThatLeavesCancelsItsUpload) {
  std::promise<bool> hung_up;
  std::atomic<bool> upload_seen{false};
  raw_origin slow_oppo([&](origin_connection& connection) {
    const std::string head = connection.read_head();
    if (head.find("/server/v1/auth") != std::string::npos) {
      const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count();
      const std::string answer =
          json{{"code", 0},
               {"message", "success"},
               {"data", {{"auth_token", "token-1"}, {"create_time", now_ms}}}}
              .dump();
      connection.send(scripted_answer(200, "application/json", answer));
      connection.wait_closed(1s);
    } else if (head.find("/media/upload/") != std::string::npos) {
      upload_seen = true;
      hung_up.set_value(connection.wait_closed(2s));  // under every upload time-out
    }
  });
  origin.serve("/s.png", samples::png(144, 144, 22));
  config c = test_config(slow_oppo.url(""));
  c.oppo.timeout = 20s;
  c.oppo.retries = 0;
  c.server.request_deadline = 20s;
  auto& gw = start(std::move(c));

  const std::string body = json{{"small_picture_url", origin.url("/s.png")}}.dump();
  auto client = std::make_unique<abuse_client>(gw.port());
  client->send("POST /v4/image/oppo HTTP/1.1\r\nHost: a\r\n" + auth() +
               "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
  ASSERT_TRUE(eventually([&] { return upload_seen.load(); }));
  // Gone with a reset: a plain close (FIN) looks to the server like a half-close, whose
  // client still waits for its answer.
  client->reset();

  auto future = hung_up.get_future();
  ASSERT_EQ(future.wait_for(10s), std::future_status::ready);
  EXPECT_TRUE(future.get()) << "the gateway kept OPPO's connection open";
}

}  // namespace
}  // namespace image_gateway::testing

namespace image_gateway::testing {
namespace {

// Defence in depth under the handlers: whatever a header value holds, a CR or LF in it never
// reaches the wire as a line break (no header injection, no split answer), on both the
// answer-at-once path and the coroutine path.
api_response answer_with_a_crlf_header() {
  api_response response;
  response.body = "{}";
  response.with_header("X-Echo", "a\r\nInjected: yes\r\n\r\nHTTP/1.1 200 OK");
  return response;
}

boost::asio::awaitable<api_response> answer_with_a_crlf_header_later() {
  co_return answer_with_a_crlf_header();
}

TEST(ServerWire, CrOrLfInAHeaderValueNeverSplitsTheAnswer) {
  http_server::hooks hooks;
  hooks.handle = [](api_request request) -> handler_result {
    if (request.path == "/later") return answer_with_a_crlf_header_later();
    return answer_with_a_crlf_header();
  };
  loopback_server server(std::move(hooks));
  for (const std::string path : {"/now", "/later"}) {
    abuse_client client(server.port());
    client.send("GET " + path + " HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
    ASSERT_TRUE(client.read_until_closed(5s)) << path;
    const std::string& raw = client.received();
    EXPECT_NE(raw.find("X-Echo: a  Injected: yes    HTTP/1.1 200 OK\r\n"), std::string::npos)
        << raw;
    EXPECT_EQ(raw.find("\r\nInjected:"), std::string::npos) << raw;
  }
}

// Refusals larger than what the socket holds, to a client that reads slowly: each is taken in
// part and its rest sent once there is room, on both ways a refusal is answered (at once, from
// the buffer, for the keep-alive ones; after its header alone for the last, Connection: close,
// whose 40 KB never fit at once). Each answer's body is its own path over and over, so a byte of
// another answer shows.
TEST(ServerWire, RefusalsTheSocketTakesInPartAreSentWhole) {
  http_server::hooks hooks;
  hooks.handle = [](api_request) -> handler_result { return api_response{}; };
  hooks.screen = [](api_request& header) -> screen_result {
    api_response refusal;
    refusal.status = 404;
    refusal.content_type = "text/plain";
    const std::size_t size = header.path == "/r39" ? 40000 : 3000;
    while (refusal.body.size() < size) refusal.body += header.path + ";";
    return std::optional<api_response>(std::move(refusal));
  };
  server_limits limits;
  limits.socket_send_buffer_bytes = 4096;
  loopback_server server(std::move(hooks), limits);
  constexpr int count = 40;  // the last, /r39, is the large one
  std::string requests;
  for (int i = 0; i < count; ++i) {
    requests += "GET /r" + std::to_string(i) + " HTTP/1.1\r\nHost: a\r\n" +
                (i + 1 == count ? "Connection: close\r\n" : "") + "\r\n";
  }
  // A 4 KiB window; the server fills what the two sockets hold while the client waits, then
  // the client reads 256 bytes a millisecond.
  abuse_client client(server.port(), 4096);
  ASSERT_TRUE(client.send(requests));
  std::this_thread::sleep_for(100ms);
  ASSERT_TRUE(client.read_until_closed(20s, 256, 1ms));
  const std::string& received = client.received();
  std::size_t at = 0;
  int answers = 0;
  for (int i = 0; i < count; ++i) {
    const std::size_t head_end = received.find("\r\n\r\n", at);
    ASSERT_NE(head_end, std::string::npos) << "answer " << i << " missing";
    const std::string head = received.substr(at, head_end - at);
    ASSERT_TRUE(head.starts_with("HTTP/1.1 404 ")) << "answer " << i << ": " << head;
    const std::size_t length_at = head.find("Content-Length: ");
    ASSERT_NE(length_at, std::string::npos) << head;
    const std::size_t length = std::stoul(head.substr(length_at + 16));
    const std::string body = received.substr(head_end + 4, length);
    std::string expected;
    while (expected.size() < (i + 1 == count ? 40000U : 3000U)) {
      expected += "/r" + std::to_string(i) + ";";
    }
    EXPECT_EQ(body, expected) << "answer " << i;
    at = head_end + 4 + length;
    ++answers;
  }
  EXPECT_EQ(answers, count);
  EXPECT_EQ(at, received.size()) << "bytes after the last answer";
}

}  // namespace
}  // namespace image_gateway::testing
