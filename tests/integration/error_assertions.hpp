#pragma once
// Checks shared by the integration tests: the documented strings of docs/api.md#errors and the
// error envelope.
#include <gtest/gtest.h>

#include <initializer_list>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "fakes/test_servers.hpp"

namespace image_gateway::testing {

// Copied from the table of docs/api.md#errors on purpose (not from error.cpp): the test holds the
// contract.
inline constexpr std::string_view msg_route = "The method is not supported or url err";
inline constexpr std::string_view msg_auth = "Basic authentication failed";
inline constexpr std::string_view msg_invalid = "Parameter value is invalid";
inline constexpr std::string_view msg_missing = "Missing parameter!";
inline constexpr std::string_view msg_picture = "Picture Size Exceeds";
inline constexpr std::string_view msg_server = "server error";
inline constexpr std::string_view msg_timeout = "Server response time out, please try again later";
inline constexpr std::string_view msg_rate = "Rate limit exceeded";

// The error object of an answer, or null when the body is not the documented error envelope.
inline nlohmann::json error_of(const client_response& response) {
  const auto body = nlohmann::json::parse(response.body, nullptr, false);
  if (body.is_discarded() || !body.is_object() || !body.contains("error") ||
      !body.at("error").is_object()) {
    return nullptr;
  }
  return body.at("error");
}

// Asserts status, the exact code and message, a detail naming each of `mentions`, the JSON
// Content-Type and an X-Request-Id. Returns the error object for further checks.
inline nlohmann::json expect_error(const client_response& response, long http_status, int code,
                                   std::string_view message,
                                   std::initializer_list<std::string_view> mentions = {}) {
  EXPECT_EQ(response.error, "");
  EXPECT_EQ(response.status, http_status) << response.body;
  EXPECT_EQ(response.header("content-type"), "application/json");
  EXPECT_FALSE(response.header("x-request-id").empty());
  const nlohmann::json error = error_of(response);
  if (error.is_null()) {
    ADD_FAILURE() << "not an error envelope: " << response.body;
    return error;
  }
  EXPECT_EQ(error.value("code", -999), code) << response.body;
  EXPECT_EQ(error.value("message", std::string()), message) << response.body;
  const std::string detail = error.value("detail", std::string());
  EXPECT_FALSE(detail.empty()) << response.body;
  for (const std::string_view mention : mentions) {
    EXPECT_NE(detail.find(mention), std::string::npos)
        << "detail \"" << detail << "\" does not mention \"" << mention << "\"";
  }
  return error;
}

inline std::string detail_of(const client_response& response) {
  const nlohmann::json error = error_of(response);
  return error.is_null() ? std::string() : error.value("detail", std::string());
}

}  // namespace image_gateway::testing
