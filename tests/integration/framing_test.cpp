// Request smuggling (issue 13): a request whose length could be read two ways is answered 400
// with code 21003 before anything else is looked at, and its connection is closed, so bytes a
// load balancer took for a body are never served as a request of their own (RFC 9112 §6.1, §3.2).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "fakes/raw_origin.hpp"
#include "fakes/test_servers.hpp"

namespace image_gateway::testing {
namespace {

using nlohmann::json;

std::string auth() { return basic_header(test_app_key, test_app_secret) + "\r\n"; }

std::size_t count_of(const std::string& text, std::string_view what) {
  std::size_t count = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++count;
  return count;
}

class FramingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    gateway = std::make_unique<gateway_under_test>(test_config(oppo.base_url()));
  }

  // Sends `raw` on a new connection and expects exactly one answer, a 400 with code 21003 whose
  // detail contains `detail_part`, then the close.
  void expect_refused_and_closed(const std::string& raw, std::string_view detail_part) {
    abuse_client client(gateway->port());
    ASSERT_TRUE(client.connected());
    client.send(raw);
    ASSERT_TRUE(client.read_until_closed()) << raw;
    const std::string& received = client.received();
    EXPECT_EQ(received.rfind("HTTP/1.1 400 ", 0), 0U) << raw << "\n-> " << received;
    EXPECT_EQ(count_of(received, "\r\nX-Request-Id: "), 1U) << "not one answer:\n" << received;
    EXPECT_NE(received.find("\r\nConnection: close\r\n"), std::string::npos) << received;
    const auto body_at = received.find("\r\n\r\n");
    ASSERT_NE(body_at, std::string::npos);
    const json body = json::parse(received.substr(body_at + 4), nullptr, false);
    ASSERT_TRUE(body.is_object()) << received;
    EXPECT_EQ(body["error"]["code"], 21003);
    EXPECT_EQ(body["error"]["message"], "Parameter value is invalid");
    EXPECT_NE(body["error"]["detail"].get<std::string>().find(detail_part), std::string::npos)
        << body.dump();
  }

  fake_oppo_server oppo;
  std::unique_ptr<gateway_under_test> gateway;
};

// The report that opened the issue: with credentials, the body was served as a second request.
TEST_F(FramingTest, ANonChunkedTransferEncodingIsNotASecondRequest) {
  const std::string smuggled = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
  for (const std::string& credentials : {auth(), std::string()}) {
    expect_refused_and_closed("POST /v4/image/oppo HTTP/1.1\r\nHost: a\r\n" + credentials +
                                  "Transfer-Encoding: gzip\r\n\r\n" + smuggled,
                              "final Transfer-Encoding must be chunked");
  }
  // Nothing the gateway counted came from the smuggled GET: /metrics was never answered.
  EXPECT_EQ(http_call("GET", gateway->url("/healthz")).status, 200);
}

TEST_F(FramingTest, EveryFramingErrorIsRefusedBeforeRouteAndCredentials) {
  struct framing_case {
    std::string name;
    std::string head;  // the request line and fields, without the blank line
    std::string detail;
  };
  const std::string post = "POST /v4/image/oppo HTTP/1.1\r\nHost: a\r\n" + auth();
  const std::vector<framing_case> cases = {
      {"two different Content-Lengths", post + "Content-Length: 2\r\nContent-Length: 3\r\n",
       "Content-Length"},
      {"a Content-Length list", post + "Content-Length: 2, 2\r\n", "Content-Length"},
      {"a signed Content-Length", post + "Content-Length: +2\r\n", "Content-Length"},
      {"Content-Length then Transfer-Encoding",
       post + "Content-Length: 2\r\nTransfer-Encoding: chunked\r\n", ""},
      {"Transfer-Encoding then Content-Length",
       post + "Transfer-Encoding: chunked\r\nContent-Length: 2\r\n", ""},
      {"chunked then gzip", post + "Transfer-Encoding: chunked, gzip\r\n",
       "final Transfer-Encoding must be chunked"},
      {"chunked twice", post + "Transfer-Encoding: chunked, chunked\r\n", "chunked more than once"},
      {"Transfer-Encoding in HTTP/1.0",
       "POST /v4/image/oppo HTTP/1.0\r\n" + auth() + "Transfer-Encoding: chunked\r\n", "HTTP/1.0"},
      {"HTTP/1.1 without Host",
       "POST /v4/image/oppo HTTP/1.1\r\n" + auth() + "Content-Length: 2\r\n", "Host"},
      {"two Host headers", post + "Host: b\r\nContent-Length: 2\r\n", "exactly one Host"},
      {"an unknown path", "GET /nowhere HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n",
       "final Transfer-Encoding must be chunked"},
      {"a GET without Host", "GET /healthz HTTP/1.1\r\n", "Host"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    expect_refused_and_closed(c.head + "\r\n{}" + "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n",
                              c.detail);
  }
}

TEST_F(FramingTest, SoundFramingIsStillServed) {
  // A chunked JSON body, equal duplicate Content-Lengths, and HTTP/1.0 without Host.
  abuse_client chunked(gateway->port());
  chunked.send("POST /v4/image/oppo HTTP/1.1\r\nHost: a\r\n" + auth() +
               "Transfer-Encoding: gzip, chunked\r\nConnection: close\r\n\r\n2\r\n{}\r\n0\r\n\r\n");
  ASSERT_TRUE(chunked.read_until_closed());
  EXPECT_EQ(chunked.received().rfind("HTTP/1.1 400 ", 0), 0U) << chunked.received();
  EXPECT_NE(chunked.received().find("\"code\":23002"), std::string::npos) << chunked.received();

  abuse_client twice(gateway->port());
  twice.send("POST /v4/image/oppo HTTP/1.1\r\nHost: a\r\n" + auth() +
             "Content-Length: 2\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}");
  ASSERT_TRUE(twice.read_until_closed());
  EXPECT_NE(twice.received().find("\"code\":23002"), std::string::npos) << twice.received();

  abuse_client old(gateway->port());
  old.send("GET /readyz HTTP/1.0\r\n\r\n");
  ASSERT_TRUE(old.read_until_closed());
  EXPECT_EQ(old.received().rfind("HTTP/1.0 200 ", 0), 0U) << old.received();
}

}  // namespace
}  // namespace image_gateway::testing
