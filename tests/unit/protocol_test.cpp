#include "image_gateway/oppo/protocol.hpp"

#include <gtest/gtest.h>

#include <string>

namespace image_gateway::oppo {
namespace {

using namespace std::chrono_literals;

// Vectors computed outside the code under test: printf 'k1s' | sha256sum.
TEST(AuthSign, MatchesIndependentlyComputedVector) {
  EXPECT_EQ(auth_sign("k", 1, "s"),
            "caf7ee8e690491a9d1e313429bc1a1d56683eb78a2224753521b47cf717fcc80");
  // printf 'app key1700000000000se&cret' | sha256sum
  EXPECT_EQ(auth_sign("app key", 1700000000000, "se&cret"),
            "6ac1c94845d943ef46f653197726e6eadf6bd53ac785ea7e17fe5451e93e58f7");
}

TEST(AuthSign, DependsOnEveryInput) {
  const std::string base = auth_sign("k", 1, "s");
  EXPECT_NE(auth_sign("k2", 1, "s"), base);
  EXPECT_NE(auth_sign("k", 2, "s"), base);
  EXPECT_NE(auth_sign("k", 1, "s2"), base);
}

TEST(AuthFormBody, EncodesFieldsAndSign) {
  EXPECT_EQ(auth_form_body("app key", "se&cret", 1700000000000),
            "app_key=app+key&timestamp=1700000000000&sign="
            "6ac1c94845d943ef46f653197726e6eadf6bd53ac785ea7e17fe5451e93e58f7");
  // The secret itself never travels.
  EXPECT_EQ(auth_form_body("k", "topsecret", 1).find("topsecret"), std::string::npos);
}

TEST(Urls, StripOneTrailingSlash) {
  EXPECT_EQ(auth_url("https://api.push.oppomobile.com"),
            "https://api.push.oppomobile.com/server/v1/auth");
  EXPECT_EQ(auth_url("https://api.push.oppomobile.com/"),
            "https://api.push.oppomobile.com/server/v1/auth");
  EXPECT_EQ(upload_url("https://media.example/", image_kind::big),
            "https://media.example/server/v1/media/upload/big_picture");
  EXPECT_EQ(upload_url("http://127.0.0.1:9000/base", image_kind::small),
            "http://127.0.0.1:9000/base/server/v1/media/upload/small_picture");
}

TEST(Classify, Table) {
  EXPECT_EQ(classify(0), code_class::success);
  for (int code : {11, 29}) EXPECT_EQ(classify(code), code_class::token_bad) << code;
  for (int code : {14, 15, 16, 17, 18, 19, 26, 27, 28, 30}) {
    EXPECT_EQ(classify(code), code_class::credentials) << code;
  }
  for (int code : {-1, -2, 13, 55}) EXPECT_EQ(classify(code), code_class::transient) << code;
  for (int code : {1, 10, 12, 20, 25, 31, 33, 34, 40, 41, 51, 54, 56, 500, -3}) {
    EXPECT_EQ(classify(code), code_class::business) << code;
  }
}

// ---- token_expiry ----

const system_time arrival = system_time{} + 1'700'000'000'000ms;

TEST(TokenExpiry, CreatedJustNowEndsInADay) {
  EXPECT_EQ(token_expiry(arrival, arrival), arrival + 24h);
}

TEST(TokenExpiry, EarlierTokenEndsAtItsOwnEnd) {
  EXPECT_EQ(token_expiry(arrival - 5h, arrival), arrival + 19h);
  EXPECT_EQ(token_expiry(arrival - 1ms, arrival), arrival + 24h - 1ms);
}

TEST(TokenExpiry, ExactlyADayOldEndsNow) {
  EXPECT_EQ(token_expiry(arrival - 24h, arrival), arrival);
}

TEST(TokenExpiry, OlderThanADayCountsFromArrival) {
  EXPECT_EQ(token_expiry(arrival - 24h - 1ms, arrival), arrival + 24h);
  EXPECT_EQ(token_expiry(arrival - 72h, arrival), arrival + 24h);
}

TEST(TokenExpiry, FutureCreateTimeCountsFromArrival) {
  EXPECT_EQ(token_expiry(arrival + 1ms, arrival), arrival + 24h);
  EXPECT_EQ(token_expiry(arrival + 3h, arrival), arrival + 24h);
}

// ---- parse_auth_answer ----

TEST(ParseAuthAnswer, NumberCreateTime) {
  const auto parsed = parse_auth_answer(
      R"({"code":0,"message":"success","data":{"auth_token":"tok-1","create_time":1699999000000}})",
      arrival);
  const auto* token = std::get_if<auth_token>(&parsed);
  ASSERT_NE(token, nullptr);
  EXPECT_EQ(token->token, "tok-1");
  EXPECT_EQ(token->expires_at, system_time{} + 1'699'999'000'000ms + 24h);
}

TEST(ParseAuthAnswer, StringCreateTime) {
  const auto parsed = parse_auth_answer(
      R"({"code":0,"data":{"auth_token":"tok-2","create_time":"1699996400000"}})", arrival);
  const auto* token = std::get_if<auth_token>(&parsed);
  ASSERT_NE(token, nullptr);
  EXPECT_EQ(token->token, "tok-2");
  EXPECT_EQ(token->expires_at, arrival - 1h + 24h);
}

TEST(ParseAuthAnswer, AbsurdCreateTimeCountsFromArrival) {
  const auto parsed = parse_auth_answer(
      R"({"code":0,"data":{"auth_token":"t","create_time":99999999999999999999}})", arrival);
  const auto* token = std::get_if<auth_token>(&parsed);
  ASSERT_NE(token, nullptr);
  EXPECT_EQ(token->expires_at, arrival + 24h);
}

TEST(ParseAuthAnswer, ExtremeIntegerCreateTimesDoNotOverflow) {
  for (const char* created : {"9223372036854775807", "18446744073709551615", "-9223372036854775807",
                              "\"9223372036854775807\"", "\"123456789012345678901234567890\""}) {
    const auto parsed = parse_auth_answer(
        std::string(R"({"code":0,"data":{"auth_token":"t","create_time":)") + created + "}}",
        arrival);
    const auto* token = std::get_if<auth_token>(&parsed);
    ASSERT_NE(token, nullptr) << created;
    EXPECT_EQ(token->expires_at, arrival + 24h) << created;
  }
}

TEST(ParseAuthAnswer, OppoFailure) {
  const auto parsed = parse_auth_answer(R"({"code":14,"message":"Invalid App Key"})", arrival);
  const auto* failure = std::get_if<oppo_failure>(&parsed);
  ASSERT_NE(failure, nullptr);
  EXPECT_EQ(failure->code, 14);
  EXPECT_EQ(failure->message, "Invalid App Key");
}

TEST(ParseAuthAnswer, NegativeCodeWithoutMessage) {
  const auto parsed = parse_auth_answer(R"({"code":-1})", arrival);
  const auto* failure = std::get_if<oppo_failure>(&parsed);
  ASSERT_NE(failure, nullptr);
  EXPECT_EQ(failure->code, -1);
  EXPECT_EQ(failure->message, "");
}

TEST(ParseAuthAnswer, MalformedAnswersAreParseFailures) {
  for (const char* body : {
           "",
           "<html>502 Bad Gateway</html>",
           "[1,2]",
           R"({"message":"success"})",
           R"({"code":"0","data":{"auth_token":"t","create_time":1}})",
           R"({"code":0.5})",
           R"({"code":0})",
           R"({"code":0,"data":"x"})",
           R"({"code":0,"data":{"create_time":1699999000000}})",
           R"({"code":0,"data":{"auth_token":"","create_time":1699999000000}})",
           R"({"code":0,"data":{"auth_token":7,"create_time":1699999000000}})",
           R"({"code":0,"data":{"auth_token":"t"}})",
           R"({"code":0,"data":{"auth_token":"t","create_time":"soon"}})",
           R"({"code":0,"data":{"auth_token":"t","create_time":"-5"}})",
           R"({"code":0,"data":{"auth_token":"t","create_time":null}})",
           R"({"code":99999999999,"message":"x"})",
       }) {
    const auto parsed = parse_auth_answer(body, arrival);
    EXPECT_TRUE(std::holds_alternative<parse_failure>(parsed)) << body;
    if (const auto* failure = std::get_if<parse_failure>(&parsed)) {
      EXPECT_FALSE(failure->detail.empty());
    }
  }
}

TEST(ParseAuthAnswer, LongMessageIsCappedOnACharacterBoundary) {
  // 150 two-byte characters: 300 bytes; the cap (200) falls on a character boundary.
  std::string message;
  for (int i = 0; i < 150; ++i) message += "\xC3\xA9";  // é
  message += "x";
  // 199 ASCII bytes then é: the cut must not split é.
  std::string odd(199, 'a');
  odd += "\xC3\xA9tail";

  auto failure_of = [](const std::string& text) {
    const auto parsed = parse_auth_answer(R"({"code":13,"message":")" + text + R"("})", arrival);
    return std::get<oppo_failure>(parsed);
  };
  EXPECT_EQ(failure_of(message).message.size(), max_upstream_message_bytes);
  EXPECT_EQ(failure_of(odd).message, std::string(199, 'a'));
}

// ---- parse_upload_answer ----

TEST(ParseUploadAnswer, PictureIdOfTheRightKind) {
  const auto big = parse_upload_answer(
      R"({"code":0,"message":"success","data":{"big_picture_id":"b-1"}})", image_kind::big);
  ASSERT_TRUE(std::holds_alternative<std::string>(big));
  EXPECT_EQ(std::get<std::string>(big), "b-1");

  const auto small =
      parse_upload_answer(R"({"code":0,"data":{"small_picture_id":"s-1"}})", image_kind::small);
  ASSERT_TRUE(std::holds_alternative<std::string>(small));
  EXPECT_EQ(std::get<std::string>(small), "s-1");

  // The other kind's id does not count.
  EXPECT_TRUE(std::holds_alternative<parse_failure>(
      parse_upload_answer(R"({"code":0,"data":{"small_picture_id":"s-1"}})", image_kind::big)));
}

TEST(ParseUploadAnswer, FailuresAndMalformed) {
  const auto failure =
      parse_upload_answer(R"({"code":51,"message":"Picture Size Exceeds"})", image_kind::big);
  ASSERT_TRUE(std::holds_alternative<oppo_failure>(failure));
  EXPECT_EQ(std::get<oppo_failure>(failure).code, 51);
  EXPECT_EQ(std::get<oppo_failure>(failure).message, "Picture Size Exceeds");

  for (const char* body :
       {"not json", R"({"code":0})", R"({"code":0,"data":{"big_picture_id":""}})",
        R"({"code":0,"data":{"big_picture_id":12}})", R"({"data":{}})"}) {
    EXPECT_TRUE(std::holds_alternative<parse_failure>(parse_upload_answer(body, image_kind::big)))
        << body;
  }
}

// ---- error_for_oppo_failure ----

TEST(ErrorForOppoFailure, BusinessCodeIsARejectionWithUpstream) {
  const api_error error =
      error_for_oppo_failure({51, "Picture Size Exceeds"}, "the upload of big_picture");
  EXPECT_EQ(error.kind, error_kind::upstream_rejected);
  EXPECT_EQ(error.detail, "OPPO refused the upload of big_picture (code 51: Picture Size Exceeds)");
  ASSERT_TRUE(error.upstream.has_value());
  EXPECT_EQ(error.upstream->code, 51);
  EXPECT_EQ(error.upstream->message, "Picture Size Exceeds");
}

TEST(ErrorForOppoFailure, CredentialsAndTokenAreServerErrors) {
  const api_error credentials = error_for_oppo_failure({14, "Invalid App Key"}, "the auth call");
  EXPECT_EQ(credentials.kind, error_kind::upstream_credentials);
  EXPECT_NE(credentials.detail.find("credentials"), std::string::npos);
  EXPECT_NE(credentials.detail.find("(code 14: Invalid App Key)"), std::string::npos);
  // An OPPO answer with OPPO's own code: `upstream` carries it (docs/api.md#errors).
  ASSERT_TRUE(credentials.upstream.has_value());
  EXPECT_EQ(credentials.upstream->code, 14);
  EXPECT_EQ(credentials.upstream->message, "Invalid App Key");

  const api_error token = error_for_oppo_failure({11, "Invalid AuthToken"}, "the upload of x");
  EXPECT_EQ(token.kind, error_kind::upstream_credentials);
  EXPECT_NE(token.detail.find("code 11"), std::string::npos);
  ASSERT_TRUE(token.upstream.has_value());
  EXPECT_EQ(token.upstream->code, 11);
  EXPECT_EQ(token.upstream->message, "Invalid AuthToken");
}

TEST(ErrorForOppoFailure, EveryCredentialCodeCarriesUpstream) {
  for (const int code : {14, 15, 16, 17, 18, 19, 26, 27, 28, 30, 11, 29}) {
    const api_error error = error_for_oppo_failure({code, "m"}, "the auth call");
    EXPECT_EQ(error.kind, error_kind::upstream_credentials) << code;
    ASSERT_TRUE(error.upstream.has_value()) << code;
    EXPECT_EQ(error.upstream->code, code);
  }
}

TEST(ErrorForOppoFailure, TransientIsUnavailableWithUpstream) {
  const api_error error = error_for_oppo_failure({-2, "Service in Flow Control"}, "the upload");
  EXPECT_EQ(error.kind, error_kind::upstream_unavailable);
  EXPECT_NE(error.detail.find("code -2"), std::string::npos);
  ASSERT_TRUE(error.upstream.has_value());
  EXPECT_EQ(error.upstream->code, -2);
}

TEST(ErrorForOppoFailure, MessageIsCapped) {
  const api_error error = error_for_oppo_failure({34, std::string(1000, 'm')}, "the upload");
  ASSERT_TRUE(error.upstream.has_value());
  EXPECT_EQ(error.upstream->message.size(), max_upstream_message_bytes);
  EXPECT_LT(error.detail.size(), 300u);
}

}  // namespace
}  // namespace image_gateway::oppo
