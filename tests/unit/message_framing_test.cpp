#include "image_gateway/server/message_framing.hpp"

#include <gtest/gtest.h>

namespace image_gateway {
namespace {

using headers = std::vector<std::pair<std::string, std::string>>;

headers with_host(headers rest) {
  rest.insert(rest.begin(), {"host", "gateway"});
  return rest;
}

TEST(MessageFraming, AnOrdinaryRequestIsFine) {
  EXPECT_FALSE(framing_problem(11, with_host({})));
  EXPECT_FALSE(framing_problem(11, with_host({{"content-length", "42"}})));
  EXPECT_FALSE(framing_problem(11, with_host({{"transfer-encoding", "chunked"}})));
  EXPECT_FALSE(framing_problem(11, with_host({{"transfer-encoding", " Chunked "}})));
  EXPECT_FALSE(framing_problem(10, {}));  // HTTP/1.0 needs no Host
  EXPECT_FALSE(framing_problem(10, {{"content-length", "0"}}));
}

TEST(MessageFraming, TwoEqualContentLengthsAreOne) {
  EXPECT_FALSE(framing_problem(11, with_host({{"content-length", "5"}, {"content-length", "5"}})));
}

TEST(MessageFraming, ContentLengthMustBeOneDecimalNumber) {
  for (const char* value :
       {"", "abc", "-1", "+5", "5 5", "5,5", "5, 5", "0x10", "1.0", "99999999999999999999"}) {
    const auto problem = framing_problem(11, with_host({{"content-length", value}}));
    ASSERT_TRUE(problem) << value;
    EXPECT_NE(problem->find("not one decimal number"), std::string::npos) << *problem;
  }
}

TEST(MessageFraming, DifferentContentLengthsAreRefused) {
  const auto problem =
      framing_problem(11, with_host({{"content-length", "5"}, {"content-length", "50"}}));
  ASSERT_TRUE(problem);
  EXPECT_EQ(*problem, "two different Content-Length values: \"5\" and \"50\"");
}

TEST(MessageFraming, ContentLengthWithTransferEncodingIsRefusedInEitherOrder) {
  for (const headers& fields :
       {with_host({{"content-length", "5"}, {"transfer-encoding", "chunked"}}),
        with_host({{"transfer-encoding", "chunked"}, {"content-length", "5"}})}) {
    const auto problem = framing_problem(11, fields);
    ASSERT_TRUE(problem);
    EXPECT_EQ(*problem, "both Content-Length and Transfer-Encoding were sent");
  }
}

TEST(MessageFraming, TheFinalCodingMustBeChunked) {
  for (const headers& fields :
       {with_host({{"transfer-encoding", "gzip"}}),
        with_host({{"transfer-encoding", "chunked, gzip"}}),
        with_host({{"transfer-encoding", "chunked"}, {"transfer-encoding", "gzip"}}),
        with_host({{"transfer-encoding", ""}}), with_host({{"transfer-encoding", "chunked,"}}),
        with_host({{"transfer-encoding", "identity"}})}) {
    const auto problem = framing_problem(11, fields);
    ASSERT_TRUE(problem) << fields.back().second;
    EXPECT_NE(problem->find("final Transfer-Encoding must be chunked"), std::string::npos)
        << *problem;
  }
  // Codings before the final chunked are the sender's business; the length is still known.
  EXPECT_FALSE(framing_problem(11, with_host({{"transfer-encoding", "gzip, chunked"}})));
  EXPECT_FALSE(framing_problem(
      11, with_host({{"transfer-encoding", "gzip"}, {"transfer-encoding", "chunked"}})));
}

TEST(MessageFraming, ChunkedTwiceIsRefused) {
  for (const headers& fields :
       {with_host({{"transfer-encoding", "chunked, chunked"}}),
        with_host({{"transfer-encoding", "chunked"}, {"transfer-encoding", "chunked"}})}) {
    const auto problem = framing_problem(11, fields);
    ASSERT_TRUE(problem);
    EXPECT_EQ(*problem, "Transfer-Encoding applies chunked more than once");
  }
}

TEST(MessageFraming, TransferEncodingInHttp10IsRefused) {
  const auto problem = framing_problem(10, {{"transfer-encoding", "chunked"}});
  ASSERT_TRUE(problem);
  EXPECT_EQ(*problem, "Transfer-Encoding is not allowed in an HTTP/1.0 request");
}

TEST(MessageFraming, Http11NeedsExactlyOneHost) {
  const auto none = framing_problem(11, {{"content-length", "0"}});
  ASSERT_TRUE(none);
  EXPECT_EQ(*none, "an HTTP/1.1 request must carry a Host header");
  const auto two = framing_problem(11, {{"host", "a"}, {"host", "b"}});
  ASSERT_TRUE(two);
  EXPECT_EQ(*two, "an HTTP/1.1 request must carry exactly one Host header, not 2");
}

TEST(MessageFraming, TheDetailQuotesHostileValuesSafelyAndShort) {
  const auto problem =
      framing_problem(11, with_host({{"transfer-encoding", "\x01gzip\"" + std::string(100, 'x')}}));
  ASSERT_TRUE(problem);
  EXPECT_EQ(problem->find('\x01'), std::string::npos);
  EXPECT_LT(problem->size(), 160U);
  EXPECT_NE(problem->find("?gzip\"xxx"), std::string::npos) << *problem;
}

TEST(MessageFraming, TheHostValueMustBeAHostWithAnOptionalPort) {
  for (const char* fine :
       {"gateway", "gateway:8080", "127.0.0.1", "127.0.0.1:80", "[::1]", "[::1]:8080", "[v1.fe]",
        "xn--bcher-kva.example", "a%20b", "host:", ""}) {
    EXPECT_FALSE(framing_problem(11, {{"host", fine}})) << fine;
  }
  for (const char* bad : {"exa mple.com", "a b@c/d", "user:pw@host", "host/path", "host:80x",
                          "[::1", "[::g]", "a%2", "host:8080:1", "ho\"st", "[]"}) {
    const auto problem = framing_problem(11, {{"host", bad}});
    ASSERT_TRUE(problem) << bad;
    EXPECT_NE(problem->find("Host header is not a host name"), std::string::npos) << *problem;
    EXPECT_EQ(problem->find("pw"), std::string::npos) << "the value is not repeated";
  }
  // HTTP/1.0 needs no Host, but one it sends is checked all the same.
  EXPECT_TRUE(framing_problem(10, {{"host", "a b"}}));
}

TEST(MessageFraming, TwoAuthorizationFieldsAreRefused) {
  EXPECT_FALSE(framing_problem(11, with_host({{"authorization", "Basic YTpi"}})));
  const auto problem = framing_problem(
      11, with_host({{"authorization", "Basic YTpi"}, {"authorization", "Basic Yzpk"}}));
  ASSERT_TRUE(problem);
  EXPECT_EQ(*problem, "a request must carry at most one Authorization header, not 2");
}

TEST(MessageFraming, ChunkedWithParametersIsRefused) {
  for (const char* value : {"chunked;foo=bar", "chunked ; q=1", "gzip, chunked;x"}) {
    const auto problem = framing_problem(11, with_host({{"transfer-encoding", value}}));
    ASSERT_TRUE(problem) << value;
    EXPECT_EQ(*problem, "Transfer-Encoding chunked takes no parameters");
  }
  // Parameters on an earlier coding are that coding's business.
  EXPECT_FALSE(framing_problem(11, with_host({{"transfer-encoding", "gzip;level=1, chunked"}})));
}

}  // namespace
}  // namespace image_gateway
