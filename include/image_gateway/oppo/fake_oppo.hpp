#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "image_gateway/api/http_types.hpp"
#include "image_gateway/config/config.hpp"
#include "image_gateway/image/image_check.hpp"

namespace image_gateway::oppo {

// An answer and how long to hold it back (to simulate a slow OPPO).
struct fake_reply {
  api_response response;
  std::chrono::milliseconds delay{0};
};

// OPPO's auth and media API as a pure function of the request: checks the sign, the timestamp
// window, the token, the multipart parts and the image limits, and answers OPPO's codes. Used by
// the oppo-sandbox executable and by the tests. Thread-safe.
//
// Answers are HTTP 200 with {"code":N,"message":"…"} even for OPPO errors, as OPPO does; an
// unknown path answers HTTP 404 {"code":404,"message":"Not Found"} and a method other than POST
// on a known path HTTP 405 {"code":12,"message":"Http Action Not Allowed"}. The codes, following
// OPPO's published table:
//   auth:   15 app_key missing, 14 unknown app_key, 18 timestamp missing, 19 timestamp not a
//           number or outside ±timestamp_window of now, 17 sign missing, 16 sign wrong,
//           41 body not application/x-www-form-urlencoded; success issues a new random token
//           (32 hex) with create_time = now in ms (a JSON number), valid 24 h.
//   upload: 41 not multipart/form-data or malformed, 29 auth_token missing, 11 token unknown,
//           expired or revoked, 40 picture_ttl or file missing, 41 picture_ttl not a decimal in
//           1..2592000, or a file name not ending .png/.jpg/.jpeg or a Content-Type other than
//           image/png or image/jpeg, or either not matching the magic bytes; 51 bytes neither PNG
//           nor JPEG or failing the kind's rule (inspect_image); success answers a unique id in
//           data.big_picture_id (or small_picture_id).
class fake_oppo {
 public:
  struct options {
    std::vector<oppo_credentials> apps;
    image_rule big{984, 369, 1048576};
    image_rule small{144, 144, 51200};
    std::chrono::milliseconds timestamp_window{10 * 60 * 1000};
  };

  explicit fake_oppo(options settings);
  ~fake_oppo();

  // POST /server/v1/auth and POST /server/v1/media/upload/{big,small}_picture; anything else
  // answers 404 with an OPPO-style body.
  fake_reply handle(const api_request& request);

  // ---- test controls ----
  // The next uploads answer these OPPO codes (one each, in order) instead of processing; a 0
  // in the list processes that upload normally. Every upload is still counted and its token
  // recorded.
  void script_upload_codes(std::vector<int> codes);
  // The next auth calls answer these OPPO codes instead of a token (0: process normally).
  void script_auth_codes(std::vector<int> codes);
  // Every answer is held back this long.
  void set_delay(std::chrono::milliseconds delay);
  // Tokens issued so far become invalid (uploads with them answer 11).
  void revoke_tokens();

  struct counters {
    std::uint64_t auth_requests = 0;
    std::uint64_t upload_requests = 0;
    std::uint64_t uploads_accepted = 0;
    std::string last_upload_token;  // the auth_token of the latest upload request
  };
  counters stats() const;
  // The file accepted under this picture id (one of the latest 32 uploads), else nullopt.
  std::optional<std::string> uploaded_file(const std::string& picture_id) const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace image_gateway::oppo
