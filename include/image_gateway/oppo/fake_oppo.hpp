#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
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
  // The next uploads answer these OPPO codes (one each, in order) instead of processing.
  void script_upload_codes(std::vector<int> codes);
  // The next auth calls answer these OPPO codes instead of a token.
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

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace image_gateway::oppo
