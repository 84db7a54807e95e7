#include "image_gateway/oppo/multipart.hpp"

#include <gtest/gtest.h>

#include <string>

#include "image_gateway/util/strings.hpp"

namespace image_gateway::oppo {
namespace {

// What curl sends for three parts (text, text, file), binary bytes included.
std::string sample_body(const std::string& boundary, const std::string& file_bytes) {
  return "--" + boundary +
         "\r\n"
         "Content-Disposition: form-data; name=\"auth_token\"\r\n"
         "\r\n"
         "tok123\r\n"
         "--" +
         boundary +
         "\r\n"
         "Content-Disposition: form-data; name=\"picture_ttl\"\r\n"
         "\r\n"
         "2592000\r\n"
         "--" +
         boundary +
         "\r\n"
         "Content-Disposition: form-data; name=\"file\"; filename=\"big_picture.png\"\r\n"
         "Content-Type: image/png\r\n"
         "\r\n" +
         file_bytes + "\r\n--" + boundary + "--\r\n";
}

TEST(MultipartBoundary, FromContentType) {
  EXPECT_EQ(multipart_boundary("multipart/form-data; boundary=------------------------abc123"),
            "------------------------abc123");
  EXPECT_EQ(multipart_boundary("Multipart/Form-Data;BOUNDARY=\"quoted; value\""), "quoted; value");
  EXPECT_EQ(multipart_boundary("multipart/form-data; charset=utf-8; boundary=x"), "x");
}

TEST(MultipartBoundary, RefusesOtherTypesAndBadBoundaries) {
  EXPECT_EQ(multipart_boundary("application/x-www-form-urlencoded"), std::nullopt);
  EXPECT_EQ(multipart_boundary("multipart/mixed; boundary=x"), std::nullopt);
  EXPECT_EQ(multipart_boundary("multipart/form-data"), std::nullopt);
  EXPECT_EQ(multipart_boundary("multipart/form-data; boundary="), std::nullopt);
  EXPECT_EQ(multipart_boundary("multipart/form-data; boundary=\"unclosed"), std::nullopt);
  EXPECT_EQ(multipart_boundary("multipart/form-data; boundary=" + std::string(71, 'b')),
            std::nullopt);
  EXPECT_EQ(multipart_boundary(""), std::nullopt);
}

TEST(ParseMultipart, RoundTripsPartsWithBinaryData) {
  std::string file("\x89PNG\r\n\x1a\n", 8);
  file += std::string("\0\r\n--not-the-boundary\r\n", 24);
  const auto parts = parse_multipart(sample_body("XyZ", file), "XyZ");
  ASSERT_TRUE(parts.has_value());
  ASSERT_EQ(parts->size(), 3u);
  EXPECT_EQ((*parts)[0].name, "auth_token");
  EXPECT_EQ((*parts)[0].data, "tok123");
  EXPECT_EQ((*parts)[0].filename, "");
  EXPECT_EQ((*parts)[0].content_type, "");
  EXPECT_EQ((*parts)[1].name, "picture_ttl");
  EXPECT_EQ((*parts)[1].data, "2592000");
  EXPECT_EQ((*parts)[2].name, "file");
  EXPECT_EQ((*parts)[2].filename, "big_picture.png");
  EXPECT_EQ((*parts)[2].content_type, "image/png");
  EXPECT_EQ((*parts)[2].data, file);
}

TEST(ParseMultipart, PreambleEpilogueAndEmptyData) {
  const std::string body =
      "preamble to ignore\r\n--b\r\n"
      "content-disposition: form-data; name=empty\r\n\r\n"
      "\r\n--b--\r\nepilogue";
  const auto parts = parse_multipart(body, "b");
  ASSERT_TRUE(parts.has_value());
  ASSERT_EQ(parts->size(), 1u);
  EXPECT_EQ((*parts)[0].name, "empty");
  EXPECT_EQ((*parts)[0].data, "");
}

TEST(ParseMultipart, Malformed) {
  const std::string good = sample_body("b", "data");
  // Wrong boundary, missing close delimiter, part without Content-Disposition, or not form-data.
  EXPECT_EQ(parse_multipart(good, "other"), std::nullopt);
  EXPECT_EQ(parse_multipart(good.substr(0, good.size() - 8), "b"), std::nullopt);
  EXPECT_EQ(parse_multipart("--b\r\nContent-Type: text/plain\r\n\r\nx\r\n--b--", "b"),
            std::nullopt);
  EXPECT_EQ(
      parse_multipart("--b\r\nContent-Disposition: attachment; name=a\r\n\r\nx\r\n--b--", "b"),
      std::nullopt);
  EXPECT_EQ(parse_multipart("--b\r\nContent-Disposition: form-data\r\n\r\nx\r\n--b--", "b"),
            std::nullopt);
  EXPECT_EQ(parse_multipart("--b\r\nno blank line\r\n--b--", "b"), std::nullopt);
  EXPECT_EQ(parse_multipart("", "b"), std::nullopt);
  EXPECT_EQ(parse_multipart(good, ""), std::nullopt);
}

TEST(ParseFormUrlencoded, DecodesPercentAndPlus) {
  const auto fields = parse_form_urlencoded("app_key=a+b%2Fc&timestamp=17&sign=%7e&&flag&empty=");
  ASSERT_TRUE(fields.has_value());
  ASSERT_EQ(fields->size(), 5u);
  EXPECT_EQ((*fields)[0], (std::pair<std::string, std::string>{"app_key", "a b/c"}));
  EXPECT_EQ((*fields)[1], (std::pair<std::string, std::string>{"timestamp", "17"}));
  EXPECT_EQ((*fields)[2], (std::pair<std::string, std::string>{"sign", "~"}));
  EXPECT_EQ((*fields)[3], (std::pair<std::string, std::string>{"flag", ""}));
  EXPECT_EQ((*fields)[4], (std::pair<std::string, std::string>{"empty", ""}));
}

TEST(ParseFormUrlencoded, EmptyBodyAndBadEscapes) {
  const auto empty = parse_form_urlencoded("");
  ASSERT_TRUE(empty.has_value());
  EXPECT_TRUE(empty->empty());
  EXPECT_EQ(parse_form_urlencoded("a=%"), std::nullopt);
  EXPECT_EQ(parse_form_urlencoded("a=%4"), std::nullopt);
  EXPECT_EQ(parse_form_urlencoded("a=%zz"), std::nullopt);
  EXPECT_EQ(parse_form_urlencoded("%g1=x"), std::nullopt);
}

}  // namespace
}  // namespace image_gateway::oppo
