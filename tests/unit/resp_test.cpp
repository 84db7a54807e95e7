// RESP encoding and decoding (redis/resp.hpp).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "image_gateway/redis/resp.hpp"

namespace image_gateway::redis {
namespace {

TEST(RespEncode, CommandsAreArraysOfBulkStrings) {
  const std::vector<std::string> args = {"SET", "k", "v"};
  EXPECT_EQ(encode_command(args), "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n");
}

TEST(RespEncode, BinaryAndEmptyArgumentsKeepTheirBytes) {
  const std::vector<std::string> args = {"SET", std::string("a\r\n\0b", 5), ""};
  EXPECT_EQ(encode_command(args),
            std::string("*3\r\n$3\r\nSET\r\n$5\r\na\r\n\0b\r\n$0\r\n\r\n", 30));
}

reply parse_one(const std::string& bytes) {
  reply_parser parser;
  parser.feed(bytes);
  reply out;
  EXPECT_EQ(parser.next(out), reply_parser::status::ready) << parser.error();
  EXPECT_EQ(parser.buffered(), 0U);
  return out;
}

TEST(RespDecode, EveryType) {
  EXPECT_EQ(parse_one("+OK\r\n").kind, reply::type::simple);
  EXPECT_EQ(parse_one("+OK\r\n").text, "OK");
  const reply error = parse_one("-NOSCRIPT No matching script\r\n");
  EXPECT_TRUE(error.is_error());
  EXPECT_EQ(error.text, "NOSCRIPT No matching script");
  EXPECT_EQ(parse_one(":-42\r\n").integer, -42);
  EXPECT_EQ(parse_one("$5\r\nhe\r\nl\r\n").text, "he\r\nl");
  EXPECT_EQ(parse_one("$0\r\n\r\n").text, "");
  EXPECT_EQ(parse_one("$0\r\n\r\n").kind, reply::type::bulk);
  EXPECT_TRUE(parse_one("$-1\r\n").is_nil());
  EXPECT_TRUE(parse_one("*-1\r\n").is_nil());
  const reply array = parse_one("*3\r\n:1\r\n$2\r\nid\r\n*1\r\n+x\r\n");
  ASSERT_EQ(array.kind, reply::type::array);
  ASSERT_EQ(array.elements.size(), 3U);
  EXPECT_EQ(array.elements[0].integer, 1);
  EXPECT_EQ(array.elements[1].text, "id");
  EXPECT_EQ(array.elements[2].elements.at(0).text, "x");
}

TEST(RespDecode, RepliesSplitAnywhereComeOutWhole) {
  const std::string stream = "*2\r\n$3\r\nabc\r\n:7\r\n+PONG\r\n$-1\r\n";
  for (std::size_t cut = 0; cut <= stream.size(); ++cut) {
    reply_parser parser;
    std::vector<reply> got;
    reply out;
    parser.feed(stream.substr(0, cut));
    while (parser.next(out) == reply_parser::status::ready) got.push_back(out);
    parser.feed(stream.substr(cut));
    reply_parser::status s;
    while ((s = parser.next(out)) == reply_parser::status::ready) got.push_back(out);
    EXPECT_EQ(s, reply_parser::status::need_more) << "cut at " << cut;
    ASSERT_EQ(got.size(), 3U) << "cut at " << cut;
    EXPECT_EQ(got[0].elements.at(0).text, "abc");
    EXPECT_EQ(got[1].text, "PONG");
    EXPECT_TRUE(got[2].is_nil());
  }
}

TEST(RespDecode, GarbageIsRefusedForGood) {
  for (const std::string garbage : {"HTTP/1.1 200 OK\r\n", ":12x\r\n", "$abc\r\n", "$-2\r\n",
                                    "*-5\r\n", "$3\r\nabcd\r\n", ":\r\n"}) {
    reply_parser parser;
    parser.feed(garbage);
    reply out;
    EXPECT_EQ(parser.next(out), reply_parser::status::bad) << garbage;
    EXPECT_FALSE(parser.error().empty());
    EXPECT_EQ(parser.next(out), reply_parser::status::bad) << "stays failed";
  }
}

TEST(RespDecode, OversizedAndDeepRepliesAreRefused) {
  reply_parser small({.max_bulk_bytes = 4, .max_elements = 2, .max_depth = 1});
  reply out;
  small.feed("$5\r\n");
  EXPECT_EQ(small.next(out), reply_parser::status::bad);
  reply_parser few({.max_bulk_bytes = 4, .max_elements = 2, .max_depth = 1});
  few.feed("*3\r\n");
  EXPECT_EQ(few.next(out), reply_parser::status::bad);
  reply_parser shallow({.max_bulk_bytes = 4, .max_elements = 2, .max_depth = 1});
  shallow.feed("*1\r\n*1\r\n*1\r\n:1\r\n");
  EXPECT_EQ(shallow.next(out), reply_parser::status::bad);
  reply_parser endless;
  endless.feed(std::string(70 * 1024, 'x').insert(0, "+"));
  EXPECT_EQ(endless.next(out), reply_parser::status::bad);
}

}  // namespace
}  // namespace image_gateway::redis
