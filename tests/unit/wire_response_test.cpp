// The answer's bytes as the session sends them: status line, fields in order, Connection and
// Content-Length as Beast wrote them; the same bytes whether the answer buffer is fresh or reused,
// and whatever answer came before on the thread (the status line is cached per thread).
#include "server/wire_response.hpp"

#include <gtest/gtest.h>

#include <string>

namespace image_gateway {
namespace {

api_response refusal() {
  api_response answer;
  answer.status = 401;
  answer.body = R"({"error":"unauthorized"})";
  answer.with_header("WWW-Authenticate", "Basic realm=\"image-gateway\"");
  answer.with_header("X-Request-Id", "abc");
  return answer;
}

TEST(WireResponse, IsWhatBeastWrote) {
  const wire_response wire = to_wire_response(refusal(), 11, true);
  EXPECT_EQ(wire.head,
            "HTTP/1.1 401 Unauthorized\r\n"
            "Server: image-gateway\r\n"
            "Content-Type: application/json\r\n"
            "WWW-Authenticate: Basic realm=\"image-gateway\"\r\n"
            "X-Request-Id: abc\r\n"
            "Content-Length: 24\r\n"
            "\r\n");
  EXPECT_EQ(wire.body, R"({"error":"unauthorized"})");
}

TEST(WireResponse, AReusedBufferAndAnyEarlierAnswerGiveTheSameBytes) {
  wire_response reused;
  api_response ok;
  ok.status = 200;
  ok.content_type = "text/plain";
  ok.body = "fine";
  for (int round = 0; round < 2; ++round) {
    // An HTTP/1.0 200 in another type, then the 401 again: nothing of the one before stays.
    to_wire_response(api_response(ok), 10, false, reused);
    EXPECT_EQ(reused.head,
              "HTTP/1.0 200 OK\r\nServer: image-gateway\r\nContent-Type: text/plain\r\n"
              "Content-Length: 4\r\n\r\n");
    to_wire_response(refusal(), 11, false, reused);
    const wire_response fresh = to_wire_response(refusal(), 11, false);
    EXPECT_EQ(reused.head, fresh.head);
    EXPECT_EQ(reused.body, fresh.body);
    EXPECT_NE(reused.head.find("Connection: close\r\n"), std::string::npos);
  }
}

TEST(WireResponse, ALineBreakInAValueCannotSplitTheAnswer) {
  api_response answer = refusal();
  answer.with_header("X-Cache", "hit\r\nSet-Cookie: x=1");
  const wire_response wire = to_wire_response(std::move(answer), 11, true);
  EXPECT_NE(wire.head.find("X-Cache: hit  Set-Cookie: x=1\r\n"), std::string::npos) << wire.head;
}

}  // namespace
}  // namespace image_gateway
