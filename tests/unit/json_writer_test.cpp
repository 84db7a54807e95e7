#include "image_gateway/log/json_writer.hpp"

#include "image_gateway/util/byte_scan.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <random>
#include <string>

namespace image_gateway {
namespace {

using json = nlohmann::json;

std::string escaped(std::string_view text) {
  std::string out;
  json_writer::append_string(out, text);
  return out;
}

// The string a JSON parser reads back from our escaping.
std::string round_trip(std::string_view text) {
  const std::string encoded = escaped(text);
  EXPECT_EQ(encoded.find('\n'), std::string::npos) << "a raw newline splits the line";
  return json::parse(encoded).get<std::string>();
}

TEST(JsonWriter, QuotesBackslashesAndControlCharactersAreEscaped) {
  EXPECT_EQ(escaped("a\"b\\c"), R"("a\"b\\c")");
  EXPECT_EQ(escaped("\n\r\t\b\f"), R"("\n\r\t\b\f")");
  EXPECT_EQ(escaped(std::string("\x00\x01\x1f", 3)), R"("\u0000\u0001\u001f")");
  EXPECT_EQ(escaped("\x7f"), "\"\x7f\"");  // DEL is legal in a JSON string
  for (int c = 0; c < 0x80; ++c) {
    const std::string one(1, static_cast<char>(c));
    EXPECT_EQ(round_trip(one), one) << "byte " << c;
  }
}

TEST(JsonWriter, ValidUtf8IsCopiedAsItIs) {
  const std::string text = "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 \xEF\xBF\xBF";
  EXPECT_EQ(escaped(text), "\"" + text + "\"");
  EXPECT_EQ(round_trip(text), text);
}

TEST(JsonWriter, InvalidUtf8BecomesReplacementCharacters) {
  const std::string fffd = "\xEF\xBF\xBD";
  EXPECT_EQ(round_trip("a\xff"
                       "b"),
            "a" + fffd + "b");
  EXPECT_EQ(round_trip("\xC3("), fffd + "(");                 // lead byte without continuation
  EXPECT_EQ(round_trip("\xC0\xAF"), fffd + fffd);             // overlong '/'
  EXPECT_EQ(round_trip("\xE0\x80\xAF"), fffd + fffd + fffd);  // overlong, 3 bytes
  EXPECT_EQ(round_trip("\xED\xA0\x80"), fffd + fffd + fffd);  // UTF-16 surrogate
  EXPECT_EQ(round_trip("\xF4\x90\x80\x80"), fffd + fffd + fffd + fffd);  // above U+10FFFF
  EXPECT_EQ(round_trip("end\xE2\x82"), "end" + fffd + fffd);             // cut at the end
  EXPECT_EQ(round_trip("\x80"), fffd);                                   // lone continuation
}

TEST(JsonWriter, AnyBytesGiveOneParsableLine) {
  std::mt19937 random(42);
  for (int round = 0; round < 2000; ++round) {
    std::string text(random() % 40, '\0');
    for (char& c : text) c = static_cast<char>(random() % 256);
    const std::string encoded = escaped(text);
    ASSERT_EQ(encoded.find('\n'), std::string::npos);
    ASSERT_TRUE(json::accept(encoded)) << encoded;
    // Where the input is valid UTF-8, it comes back unchanged; nlohmann agrees on the bytes.
    std::string reference;
    try {
      reference = json(text).dump(-1, ' ', false, json::error_handler_t::strict);
    } catch (const json::exception&) {
      continue;  // invalid UTF-8: replaced, checked above
    }
    EXPECT_EQ(encoded, reference);
  }
}

TEST(JsonWriter, LongValuesStayWhole) {
  std::string text;
  for (int i = 0; i < 200000; ++i) text += (i % 97 == 0) ? "\"\\\n\xC3\xA9" : "x";
  const std::string back = round_trip(text);
  EXPECT_EQ(back.size(), text.size());
  EXPECT_EQ(back, text);
}

TEST(JsonWriter, ObjectsWithEveryKindOfMember) {
  std::string out;
  json_writer writer(out);
  writer.begin_object();
  writer.member("s", std::string_view("v"));
  writer.member("i", std::numeric_limits<std::int64_t>::min());
  writer.member("u", std::numeric_limits<std::uint64_t>::max());
  writer.member("n", 42);
  writer.member("whole", 3.0);
  writer.member("frac", 0.125);
  writer.member("nan", std::numeric_limits<double>::quiet_NaN());
  writer.member("yes", true);
  writer.member_raw("raw", R"([1,{"a":null}])");
  writer.member(json_key(std::string_view("k\"ey\n")), "x");  // a key from data is escaped
  writer.end_object();
  EXPECT_EQ(out.find("\"whole\":3.0"), out.find("\"whole\"")) << out;
  const json parsed = json::parse(out);
  EXPECT_EQ(parsed.at("s"), "v");
  EXPECT_EQ(parsed.at("i").get<std::int64_t>(), std::numeric_limits<std::int64_t>::min());
  EXPECT_EQ(parsed.at("u").get<std::uint64_t>(), std::numeric_limits<std::uint64_t>::max());
  EXPECT_EQ(parsed.at("n"), 42);
  EXPECT_TRUE(parsed.at("whole").is_number_float());
  EXPECT_EQ(parsed.at("frac").get<double>(), 0.125);
  EXPECT_TRUE(parsed.at("nan").is_null());
  EXPECT_EQ(parsed.at("yes"), true);
  EXPECT_EQ(parsed.at("raw"), json::parse(R"([1,{"a":null}])"));
  EXPECT_EQ(parsed.at("k\"ey\n"), "x");
  EXPECT_EQ(parsed.size(), 10u);
}

// The writer gathers pieces in its own buffer: members of every length around that buffer's size
// (short keys and values, values longer than the buffer, escapes at its edges) come out whole and
// in order, and the string has them after flush() and after end_object().
TEST(JsonWriter, PiecesOfEveryLengthAcrossItsBufferComeOutWhole) {
  std::mt19937 random(7);
  json expected = json::object();
  std::string out;
  {
    json_writer writer(out);
    writer.begin_object();
    for (int i = 0; i < 300; ++i) {
      const std::size_t length = random() % 3 == 0 ? random() % 1500 : random() % 20;
      std::string value;
      for (std::size_t k = 0; k < length; ++k) {
        value += random() % 50 == 0 ? '"' : static_cast<char>('a' + random() % 26);
      }
      const std::string key = "k" + std::to_string(i);
      writer.member(json_key(std::string_view(key)), value);
      expected[key] = value;
      if (i == 150) {
        writer.flush();
        EXPECT_NE(out.find("\"k150\":"), std::string::npos) << "flush() hands everything over";
      }
    }
    writer.end_object();
    EXPECT_EQ(json::parse(out), expected) << "end_object() hands everything over";
  }
  EXPECT_EQ(out.back(), '}');
}

TEST(JsonWriter, DoublesRoundTripLikeNlohmann) {
  for (const double value : {0.0, 1.0, -2.5, 0.1, 1234.5678, 1e-7, 6.02e23, 0.3333333333333333}) {
    std::string out;
    json_writer::append_number(out, value);
    EXPECT_EQ(json::parse(out).get<double>(), value) << out;
    EXPECT_EQ(out, json(value).dump()) << value;
  }
}

TEST(JsonWriter, DecimalsAreExactWithoutTrailingZeros) {
  const auto decimal = [](std::int64_t value, int decimals) {
    std::string out;
    json_writer writer(out);
    writer.begin_object();
    writer.member_decimal("v", value, decimals);
    writer.end_object();
    return out;
  };
  EXPECT_EQ(decimal(12088, 6), R"({"v":0.012088})");
  EXPECT_EQ(decimal(12000, 6), R"({"v":0.012})");
  EXPECT_EQ(decimal(1500000, 6), R"({"v":1.5})");
  EXPECT_EQ(decimal(3000000, 6), R"({"v":3.0})");  // stays a float, as nlohmann writes it
  EXPECT_EQ(decimal(7, 6), R"({"v":0.000007})");
  EXPECT_EQ(decimal(0, 3), R"({"v":0.0})");
  EXPECT_EQ(decimal(-1250, 3), R"({"v":-1.25})");
  EXPECT_EQ(decimal(42, 0), R"({"v":42})");
  EXPECT_EQ(decimal(std::numeric_limits<std::int64_t>::min(), 9), R"({"v":-9223372036.854775808})");
  // The same value nlohmann reads back.
  EXPECT_EQ(json::parse(decimal(123456789, 6)).at("v").get<double>(), 123.456789);
}

// Every position of a special byte inside and across the eight-byte words the scan reads.
TEST(JsonWriter, SpecialBytesAreFoundAtEveryPositionOfAWord) {
  for (std::size_t length = 1; length <= 24; ++length) {
    for (std::size_t at = 0; at < length; ++at) {
      for (const char special : {'"', '\\', '\n', '\x01', '\x1f', '\x80', '\xff'}) {
        std::string text(length, 'a');
        text[at] = special;
        EXPECT_EQ(json_plain_end(text, 0), at) << length << " " << at << " " << int(special);
        EXPECT_EQ(json_plain_end(text, at + 1), length);
      }
      std::string line(length, 'x');
      EXPECT_FALSE(has_line_break(line));
      line[at] = '\r';
      EXPECT_TRUE(has_line_break(line)) << length << " " << at;
      line[at] = '\n';
      EXPECT_TRUE(has_line_break(line)) << length << " " << at;
    }
  }
  for (int c = 0; c < 256; ++c) {
    const std::string word(8, static_cast<char>(c));
    EXPECT_EQ(json_plain_end(word, 0) == 8, json_plain(static_cast<unsigned char>(c))) << c;
  }
}

}  // namespace
}  // namespace image_gateway
