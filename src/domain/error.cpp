#include "image_gateway/domain/error.hpp"

#include <nlohmann/json.hpp>

namespace image_gateway {

namespace {
constexpr std::string_view route_message = "The method is not supported or url err";
constexpr std::string_view auth_message = "Basic authentication failed";
constexpr std::string_view invalid_message = "Parameter value is invalid";
constexpr std::string_view missing_message = "Missing parameter!";
constexpr std::string_view picture_message = "Picture Size Exceeds";
constexpr std::string_view server_message = "server error";
constexpr std::string_view timeout_message = "Server response time out, please try again later";
constexpr std::string_view rate_message = "Rate limit exceeded";
}  // namespace

// The error table of docs/api.md#errors, row by row. No default: the compiler warns when a new kind
// has no row.
error_description describe(error_kind kind) {
  switch (kind) {
    case error_kind::route_not_found:
      return {21001, 404, route_message};
    case error_kind::unauthorized:
      return {23001, 401, auth_message};
    case error_kind::rate_limited:
      return {2002, 429, rate_message};
    case error_kind::body_too_large:
      return {21003, 413, invalid_message};
    case error_kind::bad_json:
    case error_kind::bad_form:
    case error_kind::field_invalid:
    case error_kind::url_invalid:
    case error_kind::address_blocked:
    case error_kind::fetch_failed:
      return {21003, 400, invalid_message};
    case error_kind::missing_parameter:
      return {23002, 400, missing_message};
    // 51 with HTTP 200 on purpose: what callers of the original service already handle.
    case error_kind::image_too_large:
    case error_kind::image_bad_size:
    case error_kind::image_bad_format:
    case error_kind::image_undecodable:
    case error_kind::upstream_rejected:
      return {51, 200, picture_message};
    case error_kind::upstream_credentials:
    case error_kind::upstream_bad_answer:
    case error_kind::internal:
      return {23100, 500, server_message};
    case error_kind::upstream_unavailable:
      return {27000, 500, timeout_message};
    case error_kind::overloaded:
      return {27000, 503, timeout_message};
  }
  return {23100, 500, server_message};  // a value outside the enum
}

std::string_view to_string(error_kind kind) {
  switch (kind) {
    case error_kind::route_not_found:
      return "route_not_found";
    case error_kind::unauthorized:
      return "unauthorized";
    case error_kind::rate_limited:
      return "rate_limited";
    case error_kind::body_too_large:
      return "body_too_large";
    case error_kind::bad_json:
      return "bad_json";
    case error_kind::bad_form:
      return "bad_form";
    case error_kind::field_invalid:
      return "field_invalid";
    case error_kind::url_invalid:
      return "url_invalid";
    case error_kind::address_blocked:
      return "address_blocked";
    case error_kind::fetch_failed:
      return "fetch_failed";
    case error_kind::missing_parameter:
      return "missing_parameter";
    case error_kind::image_too_large:
      return "image_too_large";
    case error_kind::image_bad_size:
      return "image_bad_size";
    case error_kind::image_bad_format:
      return "image_bad_format";
    case error_kind::image_undecodable:
      return "image_undecodable";
    case error_kind::upstream_rejected:
      return "upstream_rejected";
    case error_kind::upstream_credentials:
      return "upstream_credentials";
    case error_kind::upstream_bad_answer:
      return "upstream_bad_answer";
    case error_kind::internal:
      return "internal";
    case error_kind::upstream_unavailable:
      return "upstream_unavailable";
    case error_kind::overloaded:
      return "overloaded";
  }
  return "unknown";
}

std::string error_body(const api_error& error) {
  const error_description row = describe(error.kind);
  // ordered_json keeps the documented key order (code, message, detail, upstream) for human
  // readers.
  nlohmann::ordered_json inner;
  inner["code"] = row.code;
  inner["message"] = row.message;
  inner["detail"] = error.detail;
  if (error.upstream) {
    inner["upstream"] = {{"code", error.upstream->code}, {"message", error.upstream->message}};
  }
  nlohmann::ordered_json body;
  body["error"] = std::move(inner);
  // detail and OPPO's message may hold any bytes from hostile input: replace, never throw.
  return body.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

}  // namespace image_gateway
