#include "image_gateway/util/flat_json.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

namespace image_gateway {
namespace {

TEST(FlatJson, ReadsAnObjectOfPlainStringsAndNulls) {
  const auto object = read_flat_json_object(
      " {\"big_picture_url\" : "
      "\"http://a/b.png?x=1\",\n\t\"small_picture_url\":null,\"fit\":\"\"} ");
  ASSERT_TRUE(object);
  ASSERT_EQ(object->size, 3u);
  EXPECT_EQ(object->find("big_picture_url")->value, "http://a/b.png?x=1");
  EXPECT_FALSE(object->find("small_picture_url")->value);
  EXPECT_EQ(object->find("fit")->value, "");
  EXPECT_EQ(object->find("background"), nullptr);
  EXPECT_FALSE(object->duplicate_key());
  EXPECT_TRUE(read_flat_json_object("{}"));
  EXPECT_EQ(read_flat_json_object(R"({"a":"1","b":"2","a":"3"})")->duplicate_key(), "a");
}

// Everything else goes to the full parser, valid JSON or not.
TEST(FlatJson, LeavesEveryOtherShapeToTheFullParser) {
  for (const std::string_view text :
       {"",
        "[]",
        "\"a\"",
        "null",
        "{",
        "{\"a\"}",
        "{\"a\":}",
        "{\"a\":1}",
        "{\"a\":true}",
        "{\"a\":{}}",
        "{\"a\":[\"b\"]}",
        "{\"a\":\"b\",}",
        "{\"a\":\"b\"} x",
        "{\"a\":\"b\"}}",
        "{\"a\" \"b\"}",
        "{\"a\":\"b\" \"c\":\"d\"}",
        "{\"a\\n\":\"b\"}",
        "{\"a\":\"\\u0041\"}",
        "{\"a\":\"\xc3\xa9\"}",
        "{\"a\":\"tab\there\"}",
        "{\"a\":nul}",
        "{\"a\":nullx}",
        "{'a':'b'}",
        "\xef\xbb\xbf{}",
        R"({"1":"","2":"","3":"","4":"","5":"","6":"","7":"","8":"","9":""})"}) {
    EXPECT_FALSE(read_flat_json_object(text)) << text;
  }
}

// Where the reader accepts a text, nlohmann reads the same members from it.
TEST(FlatJson, AgreesWithNlohmannOnEverythingItAccepts) {
  const std::vector<std::string> pieces = {"{",    "}", "\"a\"", "\"big\"", "\"x y\"",
                                           "\"\"", ":", ",",     " ",       "\n",
                                           "null", "1", "[",     "\"\\n\"", "nul"};
  std::mt19937 random(7);
  int accepted = 0;
  for (int i = 0; i < 200000; ++i) {
    std::string text;
    const int length = 1 + static_cast<int>(random() % 12);
    for (int k = 0; k < length; ++k) text += pieces[random() % pieces.size()];
    const auto flat = read_flat_json_object(text);
    if (!flat) continue;
    ++accepted;
    const auto tree = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    ASSERT_TRUE(tree.is_object()) << text;
    if (flat->duplicate_key()) continue;  // refused by both readers' callers
    ASSERT_EQ(tree.size(), flat->size) << text;
    for (std::size_t m = 0; m < flat->size; ++m) {
      const auto& member = flat->members[m];
      const auto& value = tree.at(std::string(member.key));
      if (member.value) {
        EXPECT_EQ(value, std::string(*member.value)) << text;
      } else {
        EXPECT_TRUE(value.is_null()) << text;
      }
    }
  }
  EXPECT_GT(accepted, 100);  // the generator does reach the accepted shapes
}

}  // namespace
}  // namespace image_gateway
