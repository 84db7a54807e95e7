#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <tuple>

#include "image_gateway/domain/error.hpp"

namespace image_gateway {
namespace {

constexpr std::string_view invalid = "Parameter value is invalid";
constexpr std::string_view picture = "Picture Size Exceeds";
constexpr std::string_view server = "server error";
constexpr std::string_view time_out = "Server response time out, please try again later";

struct row {
  error_kind kind;
  std::string_view name;
  int code;
  int status;
  std::string_view message;
};

// The table of docs/api.md#errors, written out independently of the implementation's table.
const row expected_rows[] = {
    {error_kind::route_not_found, "route_not_found", 21001, 404,
     "The method is not supported or url err"},
    {error_kind::unauthorized, "unauthorized", 23001, 401, "Basic authentication failed"},
    {error_kind::rate_limited, "rate_limited", 2002, 429, "Rate limit exceeded"},
    {error_kind::body_too_large, "body_too_large", 21003, 413, invalid},
    {error_kind::bad_json, "bad_json", 21003, 400, invalid},
    {error_kind::bad_form, "bad_form", 21003, 400, invalid},
    {error_kind::field_invalid, "field_invalid", 21003, 400, invalid},
    {error_kind::url_invalid, "url_invalid", 21003, 400, invalid},
    {error_kind::address_blocked, "address_blocked", 21003, 400, invalid},
    {error_kind::fetch_failed, "fetch_failed", 21003, 400, invalid},
    {error_kind::missing_parameter, "missing_parameter", 23002, 400, "Missing parameter!"},
    {error_kind::image_too_large, "image_too_large", 51, 200, picture},
    {error_kind::image_bad_size, "image_bad_size", 51, 200, picture},
    {error_kind::image_bad_format, "image_bad_format", 51, 200, picture},
    {error_kind::image_undecodable, "image_undecodable", 51, 200, picture},
    {error_kind::upstream_rejected, "upstream_rejected", 51, 200, picture},
    {error_kind::upstream_credentials, "upstream_credentials", 23100, 500, server},
    {error_kind::upstream_bad_answer, "upstream_bad_answer", 23100, 500, server},
    {error_kind::internal, "internal", 23100, 500, server},
    {error_kind::upstream_unavailable, "upstream_unavailable", 27000, 500, time_out},
    {error_kind::overloaded, "overloaded", 27000, 503, time_out},
};

TEST(ErrorTable, EveryKindHasItsSpecRow) {
  for (const row& r : expected_rows) {
    SCOPED_TRACE(std::string(r.name));
    const error_description d = describe(r.kind);
    EXPECT_EQ(d.code, r.code);
    EXPECT_EQ(d.http_status, r.status);
    EXPECT_EQ(d.message, r.message);
  }
}

TEST(ErrorTable, EveryKindIsListedOnce) {
  // The enum's last value is overloaded; every value up to it must be in the table above.
  std::set<int> seen;
  for (const row& r : expected_rows) seen.insert(static_cast<int>(r.kind));
  EXPECT_EQ(seen.size(), std::size(expected_rows));
  EXPECT_EQ(*seen.rbegin(), static_cast<int>(error_kind::overloaded));
  EXPECT_EQ(*seen.begin(), 0);
  EXPECT_EQ(seen.size(), static_cast<std::size_t>(error_kind::overloaded) + 1);
}

TEST(ErrorNames, SnakeCaseNamesAreStableAndDistinct) {
  std::set<std::string_view> names;
  for (const row& r : expected_rows) {
    EXPECT_EQ(to_string(r.kind), r.name);
    names.insert(to_string(r.kind));
  }
  EXPECT_EQ(names.size(), std::size(expected_rows));
}

TEST(ErrorBody, HasCodeMessageAndDetailOnly) {
  const std::string body = error_body({error_kind::missing_parameter, "neither was given", {}});
  const auto json = nlohmann::json::parse(body);
  ASSERT_TRUE(json.is_object());
  ASSERT_EQ(json.size(), 1u);
  const auto& error = json.at("error");
  EXPECT_EQ(error.size(), 3u);
  EXPECT_EQ(error.at("code"), 23002);
  EXPECT_EQ(error.at("message"), "Missing parameter!");
  EXPECT_EQ(error.at("detail"), "neither was given");
  EXPECT_FALSE(error.contains("upstream"));
}

TEST(ErrorBody, KeysInSpecOrder) {
  const std::string body = error_body({error_kind::bad_json, "x", upstream_status{51, "m"}});
  const auto code = body.find("\"code\"");
  const auto message = body.find("\"message\"");
  const auto detail = body.find("\"detail\"");
  const auto upstream = body.find("\"upstream\"");
  ASSERT_NE(upstream, std::string::npos);
  EXPECT_LT(code, message);
  EXPECT_LT(message, detail);
  EXPECT_LT(detail, upstream);
  EXPECT_EQ(body.find('\n'), std::string::npos);
}

TEST(ErrorBody, CarriesUpstreamCodeAndMessageWhenSet) {
  const api_error error{error_kind::upstream_rejected, "OPPO refused the big picture",
                        upstream_status{34, "daily upload limit"}};
  const auto json = nlohmann::json::parse(error_body(error));
  const auto& inner = json.at("error");
  EXPECT_EQ(inner.at("code"), 51);
  EXPECT_EQ(inner.at("message"), "Picture Size Exceeds");
  EXPECT_EQ(inner.at("detail"), "OPPO refused the big picture");
  ASSERT_TRUE(inner.contains("upstream"));
  EXPECT_EQ(inner.at("upstream").at("code"), 34);
  EXPECT_EQ(inner.at("upstream").at("message"), "daily upload limit");
  EXPECT_EQ(inner.at("upstream").size(), 2u);
}

TEST(ErrorBody, EscapesQuotesAndControlCharacters) {
  const std::string detail = "say \"hi\"\n\tand \\ go";
  const std::string body = error_body({error_kind::url_invalid, detail, {}});
  EXPECT_EQ(body.find('\n'), std::string::npos);
  EXPECT_EQ(nlohmann::json::parse(body).at("error").at("detail"), detail);
}

TEST(ErrorBody, InvalidUtf8DetailDoesNotThrowAndIsReplaced) {
  const std::string detail = std::string("bad \xff\xfe bytes \xc3") + "(";
  const api_error error{error_kind::fetch_failed, detail, upstream_status{1, "\x80oppo"}};
  std::string body;
  ASSERT_NO_THROW(body = error_body(error));
  nlohmann::json json;
  ASSERT_NO_THROW(json = nlohmann::json::parse(body));  // valid UTF-8 JSON
  const std::string got = json.at("error").at("detail");
  EXPECT_EQ(got.rfind("bad ", 0), 0u);
  EXPECT_NE(got.find("\xEF\xBF\xBD"), std::string::npos);  // U+FFFD
  EXPECT_NE(got.find(" bytes "), std::string::npos);
  EXPECT_EQ(json.at("error").at("code"), 21003);
}

TEST(Result, HoldsValueOrError) {
  result<int> good = 7;
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(good.value(), 7);
  result<int> bad = api_error{error_kind::internal, "boom", {}};
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().kind, error_kind::internal);
  EXPECT_EQ(bad.take_error().detail, "boom");
}

}  // namespace
}  // namespace image_gateway
