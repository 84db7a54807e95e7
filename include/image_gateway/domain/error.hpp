#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace image_gateway {

// Every way a request can fail, independent of HTTP. describe() is the one place that turns a
// kind into its code, message and HTTP status (docs/api.md#errors).
enum class error_kind {
  route_not_found,       // 21001 / 404: unknown path or wrong method
  unauthorized,          // 23001 / 401
  rate_limited,          // 2002 / 429
  body_too_large,        // 21003 / 413
  bad_json,              // 21003 / 400: body is not a JSON object
  bad_form,              // 21003 / 400: a multipart/form-data body that does not parse
  field_invalid,         // 21003 / 400: a field is not a string
  url_invalid,           // 21003 / 400: malformed, too long, scheme, userinfo, blocked host name
  address_blocked,       // 21003 / 400: the address connected to is not allowed
  fetch_failed,          // 21003 / 400: DNS, refused, TLS, non-2xx, redirects, time-out
  missing_parameter,     // 23002 / 400: neither URL asked for
  image_too_large,       // 51 / 200: more bytes than OPPO allows
  image_bad_size,        // 51 / 200: wrong width x height
  image_bad_format,      // 51 / 200: not PNG/JPEG by its magic bytes
  image_undecodable,     // 51 / 200: header fine, pixels do not decode (or over the budget)
  upstream_rejected,     // 51 / 200: OPPO refused the upload with a business code
  upstream_credentials,  // 23100 / 500: OPPO refused our credentials or token
  upstream_bad_answer,   // 23100 / 500: OPPO's answer could not be parsed
  internal,              // 23100 / 500
  upstream_unavailable,  // 27000 / 500: OPPO timed out, unreachable, 5xx, throttled
  overloaded,            // 27000 / 503: in-flight limit or drain window over
};

struct error_description {
  int code;
  int http_status;
  std::string_view message;
};

// The row of docs/api.md#errors for a kind.
error_description describe(error_kind kind);

// A stable snake_case name for logs and metrics, e.g. "image_bad_size".
std::string_view to_string(error_kind kind);

// OPPO's own code and message, carried on an OPPO rejection.
struct upstream_status {
  int code = 0;
  std::string message;
};

struct api_error {
  error_kind kind;
  std::string detail;
  std::optional<upstream_status> upstream;
};

// {"error":{"code":N,"message":"…","detail":"…"[,"upstream":{…}]}}
std::string error_body(const api_error& error);

// A value or the error that prevented it; no exceptions on the request path.
template <class T>
class result {
 public:
  result(T value) : state_(std::move(value)) {}          // NOLINT(google-explicit-constructor)
  result(api_error error) : state_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return state_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(state_); }
  const T& value() const& { return std::get<0>(state_); }
  T&& value() && { return std::get<0>(std::move(state_)); }
  const api_error& error() const { return std::get<1>(state_); }
  api_error&& take_error() { return std::get<1>(std::move(state_)); }

 private:
  std::variant<T, api_error> state_;
};

}  // namespace image_gateway
