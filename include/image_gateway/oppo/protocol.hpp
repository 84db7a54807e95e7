#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "image_gateway/api/image_request.hpp"
#include "image_gateway/domain/error.hpp"

namespace image_gateway::oppo {

using system_time = std::chrono::system_clock::time_point;

inline constexpr std::chrono::hours token_lifetime{24};

// sign = lowercase hex SHA-256 of app_key + timestamp + master_secret
// (docs/oppo.md#getting-a-token).
std::string auth_sign(std::string_view app_key, std::int64_t timestamp_ms,
                      std::string_view master_secret);

// The urlencoded body of POST /server/v1/auth.
std::string auth_form_body(std::string_view app_key, std::string_view master_secret,
                           std::int64_t timestamp_ms);

// Upload URL for a kind: {media_base_url}/server/v1/media/upload/big_picture. kind_name()
// (image_request.hpp) is OPPO's name for a kind in paths, file names and answer fields.
std::string upload_url(std::string_view media_base_url, image_kind kind);
std::string auth_url(std::string_view auth_base_url);

// How the gateway treats an OPPO answer code.
enum class code_class {
  success,      // 0
  token_bad,    // 11 invalid token, 29 missing token: refresh once, retry once
  credentials,  // 14-19, 26-28, 30: our own credentials are wrong (23100)
  transient,    // -1, -2, 13, 55: retried with back-off, then 27000
  business,     // anything else: the caller's upload was refused (51 with upstream)
};
code_class classify(int oppo_code);

struct auth_token {
  std::string token;
  system_time expires_at;
};

// OPPO's answer when it was not a success, kept for mapping and the `upstream` object.
struct oppo_failure {
  int code = 0;
  std::string message;
};

// The token's end: the earlier of create_time + 24 h and arrival + 24 h; arrival + 24 h when
// create_time is in the future or more than 24 h old by our clock.
system_time token_expiry(system_time create_time, system_time arrival);

// An answer body could not be parsed: upstream_bad_answer.
struct parse_failure {
  std::string detail;
};

// {"code":0,"message":"success","data":{"auth_token":"…","create_time":<ms or "ms">}}
std::variant<auth_token, oppo_failure, parse_failure> parse_auth_answer(std::string_view body,
                                                                        system_time arrival);

// {"code":0,"message":"success","data":{"big_picture_id":"…"}} (or small_picture_id)
std::variant<std::string, oppo_failure, parse_failure> parse_upload_answer(std::string_view body,
                                                                           image_kind kind);

// OPPO's message as kept in errors: at most this many bytes, cut on a UTF-8 boundary.
inline constexpr std::size_t max_upstream_message_bytes = 200;

// The api_error for a final, non-success OPPO code (after any refresh and retries). `what` names
// the call in plain words for the detail, e.g. "the upload of big_picture". credentials and
// token_bad -> upstream_credentials; transient -> upstream_unavailable; business ->
// upstream_rejected carrying `upstream` {code, message}.
api_error error_for_oppo_failure(const oppo_failure& failure, std::string_view what);

}  // namespace image_gateway::oppo
