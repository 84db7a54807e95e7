#include "server/request_reader.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace image_gateway {
namespace {

// Feeds `bytes` to a fresh reader of `into`, all at once; the parse error, if any.
beast::error_code read(api_request& into, std::string& target, std::string_view bytes,
                       std::uint64_t body_limit = 1 << 20) {
  request_reader reader(into, target);
  reader.body_limit(body_limit);
  beast::error_code ec;
  std::size_t used = 0;
  while (!reader.is_done() && used < bytes.size()) {
    used += reader.put(net::buffer(bytes.data() + used, bytes.size() - used), ec);
    if (ec) return ec;
  }
  if (!ec) {
    EXPECT_TRUE(reader.is_done());
  }
  return ec;
}

TEST(RequestReader, FillsMethodTargetLowerCasedFieldsAndBody) {
  api_request request;
  std::string target;
  ASSERT_FALSE(read(request, target,
                    "POST /v4/image/oppo?x=1 HTTP/1.1\r\nHost: gw\r\nContent-Type: "
                    "application/json\r\nX-Request-ID: abc\r\nContent-Length: 4\r\n\r\n{\"a\"}"));
  EXPECT_EQ(request.method, "POST");
  EXPECT_EQ(target, "/v4/image/oppo?x=1");
  EXPECT_EQ(request.header("host"), "gw");
  EXPECT_EQ(request.header("content-type"), "application/json");
  EXPECT_EQ(request.header("x-request-id"), "abc");
  EXPECT_EQ(request.headers.size(), 4u);
  EXPECT_EQ(request.body, "{\"a\"");
}

// The same api_request serves the next request of a connection: nothing of the earlier one
// stays (fields beyond the new ones, its body).
TEST(RequestReader, ANextRequestReplacesEverythingOfTheLastOne) {
  api_request request;
  std::string target;
  ASSERT_FALSE(read(request, target,
                    "POST /a HTTP/1.1\r\nHost: gw\r\nAuthorization: Basic eDp5\r\nX-One: 1\r\n"
                    "Content-Length: 3\r\n\r\nabc"));
  ASSERT_FALSE(read(request, target, "GET /healthz HTTP/1.1\r\nHost: other\r\n\r\n"));
  EXPECT_EQ(request.method, "GET");
  EXPECT_EQ(target, "/healthz");
  ASSERT_EQ(request.headers.size(), 1u);
  EXPECT_EQ(request.header("host"), "other");
  EXPECT_EQ(request.header("authorization"), "");
  EXPECT_EQ(request.body, "");
  // Nor of a body, when the next request declares none.
  ASSERT_FALSE(read(request, target, "POST /a HTTP/1.1\r\nContent-Length: 3\r\n\r\nxyz"));
  ASSERT_FALSE(read(request, target, "POST /a HTTP/1.1\r\nContent-Length: 0\r\n\r\n"));
  EXPECT_EQ(request.body, "");
}

TEST(RequestReader, ChunkedBodiesAreJoinedAndCountedAgainstTheLimit) {
  api_request request;
  std::string target;
  const std::string_view chunked =
      "POST /a HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\n\r\n"
      "3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n";
  ASSERT_FALSE(read(request, target, chunked));
  EXPECT_EQ(request.body, "abcdefg");
  EXPECT_EQ(read(request, target, chunked, 5), http::error::body_limit);
}

TEST(RequestReader, TellsVersionMethodAndKeepAlive) {
  api_request request;
  std::string target;
  request_reader reader(request, target);
  beast::error_code ec;
  const std::string_view head = "HEAD / HTTP/1.0\r\nHost: gw\r\n\r\n";
  reader.put(net::buffer(head.data(), head.size()), ec);
  ASSERT_FALSE(ec);
  EXPECT_EQ(reader.method(), http::verb::head);
  EXPECT_EQ(reader.version(), 10u);
  EXPECT_FALSE(reader.keep_alive());
}

}  // namespace
}  // namespace image_gateway
