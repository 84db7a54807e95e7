#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "image_gateway/api/image_request.hpp"

namespace image_gateway {
namespace {

const std::string big = "https://cdn.example.com/b.png";
const std::string small = "https://cdn.example.com/s.png";

api_error error_of(std::string_view body) {
  result<image_request> parsed = parse_image_request(body);
  EXPECT_FALSE(parsed.ok()) << body;
  if (parsed.ok()) return {error_kind::internal, "parsed", {}};
  return parsed.take_error();
}

TEST(ImageKinds, FieldNames) {
  EXPECT_EQ(url_field(image_kind::big), "big_picture_url");
  EXPECT_EQ(url_field(image_kind::small), "small_picture_url");
  EXPECT_EQ(id_field(image_kind::big), "big_picture_id");
  EXPECT_EQ(id_field(image_kind::small), "small_picture_id");
  EXPECT_EQ(kind_name(image_kind::big), "big_picture");
  EXPECT_EQ(kind_name(image_kind::small), "small_picture");
}

TEST(ImageRequest, BothUrls) {
  auto parsed = parse_image_request(R"({"big_picture_url":")" + big + R"(","small_picture_url":")" +
                                    small + R"("})");
  ASSERT_TRUE(parsed.ok()) << parsed.error().detail;
  EXPECT_EQ(parsed.value().big_url, big);
  EXPECT_EQ(parsed.value().small_url, small);
  EXPECT_EQ(parsed.value().url(image_kind::big), big);
  EXPECT_EQ(parsed.value().url(image_kind::small), small);
}

// The URLs handed on are the ones libcurl will fetch: as it normalised them, without fragment.
TEST(ImageRequest, UrlsComeBackAsCurlNormalisedThem) {
  auto parsed =
      parse_image_request(R"({"big_picture_url":"HTTPS://cdn.example.com/a/../b.png#top",)"
                          R"("small_picture_url":"http://2130706433:8080/s.png"})");
  ASSERT_TRUE(parsed.ok()) << parsed.error().detail;
  EXPECT_EQ(parsed.value().big_url, "https://cdn.example.com/b.png");
  EXPECT_EQ(parsed.value().small_url, "http://127.0.0.1:8080/s.png");
}

TEST(ImageRequest, OnlyOneUrlAndOtherFieldsIgnored) {
  auto parsed = parse_image_request(R"({"small_picture_url":")" + small +
                                    R"(","style":3,"extra":{"a":[1,2]}})");
  ASSERT_TRUE(parsed.ok()) << parsed.error().detail;
  EXPECT_FALSE(parsed.value().big_url);
  EXPECT_EQ(parsed.value().small_url, small);
}

TEST(ImageRequest, NullAndEmptyMeanNotAskedFor) {
  auto parsed =
      parse_image_request(R"({"big_picture_url":null,"small_picture_url":")" + small + R"("})");
  ASSERT_TRUE(parsed.ok());
  EXPECT_FALSE(parsed.value().big_url);
  parsed = parse_image_request(R"({"big_picture_url":")" + big + R"(","small_picture_url":""})");
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed.value().big_url, big);
  EXPECT_FALSE(parsed.value().small_url);
}

TEST(ImageRequest, NotAnObjectIsBadJson) {
  for (const std::string body : {"", "[]", "[{\"big_picture_url\":\"x\"}]", "\"text\"", "42",
                                 "null", "true", "{", "{\"big_picture_url\":}", "big_picture_url=x",
                                 "{\"a\":1} trailing", "{\"big_picture_url\":\"\xff\"}"}) {
    const api_error e = error_of(body);
    EXPECT_EQ(e.kind, error_kind::bad_json) << body;
    EXPECT_EQ(e.detail, "request body is not a JSON object") << body;
  }
}

// One meaning for one body: a key given twice is refused (21003) and named, whichever key it
// is, at any depth, however it was escaped; before any field or URL is looked at.
TEST(ImageRequest, DuplicateKeysAreRefusedNamingTheKey) {
  const std::string blocked = "http://169.254.169.254/latest/meta-data";
  struct row {
    std::string body;
    std::string key;
  };
  for (const auto& r : std::vector<row>{
           {R"({"small_picture_url":")" + blocked + R"(","small_picture_url":")" + small + R"("})",
            "small_picture_url"},
           {R"({"big_picture_url":")" + big + R"(","big_picture_url":")" + big + R"("})",
            "big_picture_url"},
           {R"({"big_picture_url":")" + big + R"(","style":3,"style":3})", "style"},
           {R"({"fit":"none","small_picture_url":")" + small + R"(","fit":"cover"})", "fit"},
           {R"({"big_picture_url":")" + big + R"(","big_picture\u005furl":")" + big + R"("})",
            "big_picture_url"},
           {R"({"big_picture_url":")" + big + R"(","meta":{"a":1,"b":{"c":1,"c":2}}})", "meta.b.c"},
           {R"({"big_picture_url":")" + big + R"(","list":[{"x":1},{"y":1,"y":1}]})", "list[1].y"},
           // a duplicate wins over a field of the wrong type and a refused URL
           {R"({"big_picture_url":5,"big_picture_url":"ftp://a.example/b.png"})",
            "big_picture_url"},
       }) {
    const api_error e = error_of(r.body);
    EXPECT_EQ(e.kind, error_kind::bad_json) << r.body;
    EXPECT_EQ(e.detail, "key \"" + r.key + "\" is given twice in the request body") << r.body;
  }
  // The same key in different objects is fine.
  EXPECT_TRUE(parse_image_request(R"({"small_picture_url":")" + small +
                                  R"(","a":{"k":1},"b":{"k":1},"c":[{"k":1},{"k":2}]})")
                  .ok());
  // A key shown in a detail is printable and short.
  const std::string long_key = "a\\u0001b" + std::string(100, 'k');
  const api_error e = error_of(R"({"small_picture_url":")" + small + R"(",")" + long_key +
                               R"(":1,")" + long_key + R"(":2})");
  EXPECT_EQ(e.detail,
            "key \"a?b" + std::string(61, 'k') + "...\" is given twice in the request body");
  // Not JSON at all is still reported as such.
  EXPECT_EQ(error_of(R"({"a":1,"a":2)").detail, "request body is not a JSON object");
}

TEST(ImageRequest, FieldThatIsNotAStringIsInvalid) {
  api_error e = error_of(R"({"big_picture_url":5,"small_picture_url":"x"})");
  EXPECT_EQ(e.kind, error_kind::field_invalid);
  EXPECT_EQ(e.detail, "big_picture_url must be a string");
  e = error_of(R"({"big_picture_url":")" + big + R"(","small_picture_url":["x"]})");
  EXPECT_EQ(e.kind, error_kind::field_invalid);
  EXPECT_EQ(e.detail, "small_picture_url must be a string");
  for (const std::string value : {"true", "{}", "[]", "0", "1.5"}) {
    e = error_of(R"({"small_picture_url":)" + value + "}");
    EXPECT_EQ(e.kind, error_kind::field_invalid) << value;
  }
}

TEST(ImageRequest, BigIsReportedBeforeSmall) {
  const api_error e = error_of(R"({"small_picture_url":1,"big_picture_url":false})");
  EXPECT_EQ(e.detail, "big_picture_url must be a string");
}

TEST(ImageRequest, TypeCheckedBeforeMissing) {
  // A bad-typed small with an absent big is field_invalid, not missing_parameter.
  const api_error e = error_of(R"({"small_picture_url":{}})");
  EXPECT_EQ(e.kind, error_kind::field_invalid);
}

TEST(ImageRequest, NoneAskedForIsMissingParameter) {
  for (const std::string body : {"{}", R"({"big_picture_url":null,"small_picture_url":""})",
                                 R"({"big_picture_url":"","other":"x"})",
                                 R"({"BIG_PICTURE_URL":"https://a.example/b.png"})"}) {
    const api_error e = error_of(body);
    EXPECT_EQ(e.kind, error_kind::missing_parameter) << body;
    EXPECT_EQ(e.detail, "neither big_picture_url nor small_picture_url was given");
  }
}

TEST(ImageRequest, RefusedUrlIsUrlInvalidWithField) {
  api_error e = error_of(R"({"big_picture_url":"ftp://cdn.example.com/b.png"})");
  EXPECT_EQ(e.kind, error_kind::url_invalid);
  EXPECT_EQ(e.detail.rfind("big_picture_url: ", 0), 0u) << e.detail;
  EXPECT_GT(e.detail.size(), std::string("big_picture_url: ").size());

  e = error_of(R"({"big_picture_url":")" + big +
               R"(","small_picture_url":"https://user:pass@cdn.example.com/s.png"})");
  EXPECT_EQ(e.kind, error_kind::url_invalid);
  EXPECT_EQ(e.detail.rfind("small_picture_url: ", 0), 0u) << e.detail;
}

TEST(ImageRequest, UrlChecksBigBeforeSmall) {
  const api_error e = error_of(
      R"({"small_picture_url":"ftp://a.example/s.png","big_picture_url":"https://u:p@a.example/b.png"})");
  EXPECT_EQ(e.kind, error_kind::url_invalid);
  EXPECT_EQ(e.detail.rfind("big_picture_url: ", 0), 0u) << e.detail;
}

TEST(ImageRequest, TypesOfBothAreCheckedBeforeAnyUrl) {
  // A bad type on small wins over a refused URL on big: types are checked for both first.
  const api_error e =
      error_of(R"({"big_picture_url":"ftp://a.example/b.png","small_picture_url":7})");
  EXPECT_EQ(e.kind, error_kind::field_invalid);
  EXPECT_EQ(e.detail, "small_picture_url must be a string");
}

std::string nested(int depth, std::string_view open, std::string_view close) {
  std::string body;
  for (int i = 0; i < depth; ++i) body += open;
  for (int i = 0; i < depth; ++i) body += close;
  return body;
}

TEST(ImageRequest, DeepNestingIsRefusedBeforeParsing) {
  // 64 levels in total are fine (the outer object plus 63 arrays)...
  const std::string ok =
      R"({"small_picture_url":")" + small + R"(","x":)" + nested(63, "[", "]") + "}";
  EXPECT_TRUE(parse_image_request(ok).ok());
  // ...65 are not.
  const std::string deep =
      R"({"small_picture_url":")" + small + R"(","x":)" + nested(64, "[", "]") + "}";
  api_error e = error_of(deep);
  EXPECT_EQ(e.kind, error_kind::bad_json);
  EXPECT_NE(e.detail.find("64"), std::string::npos) << e.detail;
  // A hostile body of a million brackets does not reach the recursive parser.
  e = error_of(std::string(1'000'000, '['));
  EXPECT_EQ(e.kind, error_kind::bad_json);
  e = error_of(nested(100'000, "{\"a\":", "}"));
  EXPECT_EQ(e.kind, error_kind::bad_json);
}

TEST(ImageRequest, BracketsInsideStringsDoNotCountAsNesting) {
  const std::string brackets(200, '[');
  const std::string body =
      R"({"small_picture_url":")" + small + R"(","note":"\")" + brackets + R"("})";
  auto parsed = parse_image_request(body);
  ASSERT_TRUE(parsed.ok()) << parsed.error().detail;
  EXPECT_EQ(parsed.value().small_url, small);
}

// "fit" and "background" (docs/api.md#fitting-pictures-of-other-sizes-fit).
TEST(ImageRequestFit, DefaultsAreNoneAndWhite) {
  for (const std::string extra : {"", R"(,"fit":null,"background":null)"}) {
    auto parsed = parse_image_request(R"({"big_picture_url":")" + big + "\"" + extra + "}");
    ASSERT_TRUE(parsed.ok()) << parsed.error().detail;
    EXPECT_EQ(parsed.value().fit, fit_mode::none);
    EXPECT_EQ(parsed.value().background, white);
  }
}

TEST(ImageRequestFit, ValuesAreRead) {
  auto parsed = parse_image_request(R"({"big_picture_url":")" + big +
                                    R"(","fit":"contain","background":"#10a0Ff"})");
  ASSERT_TRUE(parsed.ok()) << parsed.error().detail;
  EXPECT_EQ(parsed.value().fit, fit_mode::contain);
  EXPECT_EQ(parsed.value().background, (rgb{0x10, 0xa0, 0xff}));
  parsed = parse_image_request(R"({"small_picture_url":")" + small + R"(","fit":"cover"})");
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed.value().fit, fit_mode::cover);
}

TEST(ImageRequestFit, BadValuesAre21003NamingTheField) {
  for (const std::string fit : {R"("fill")", R"("")", R"("CONTAIN")", "1", "true", "[]", "{}"}) {
    const api_error e = error_of(R"({"big_picture_url":")" + big + R"(","fit":)" + fit + "}");
    EXPECT_EQ(e.kind, error_kind::field_invalid) << fit;
    EXPECT_EQ(e.detail, R"(fit must be one of "none", "contain", "cover")") << fit;
  }
  for (const std::string colour : {R"("#FFF")", R"("white")", R"("")", "255", R"(["#FFFFFF"])"}) {
    const api_error e = error_of(R"({"big_picture_url":")" + big +
                                 R"(","fit":"contain","background":)" + colour + "}");
    EXPECT_EQ(e.kind, error_kind::field_invalid) << colour;
    EXPECT_EQ(e.detail, R"(background must be a colour "#RRGGBB")") << colour;
  }
  // A bad background is refused whatever the fit (it is a parameter of the request).
  EXPECT_EQ(error_of(R"({"big_picture_url":")" + big + R"(","background":"#12"})").kind,
            error_kind::field_invalid);
}

TEST(ImageRequestFit, FieldValuesAreCheckedBeforeTheMissingUrl) {
  EXPECT_EQ(error_of(R"({"fit":"bogus"})").kind, error_kind::field_invalid);
  EXPECT_EQ(error_of(R"({"fit":"contain"})").kind, error_kind::missing_parameter);
}

}  // namespace
}  // namespace image_gateway
