#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "image_gateway/config/config.hpp"
#include "image_gateway/util/sha256.hpp"

namespace image_gateway {

struct basic_credentials {
  std::string user;
  std::string password;
};

// "Basic base64(user:password)" (scheme case-insensitive) to its parts; nullopt when the header
// is not Basic, not base64, or has no colon.
std::optional<basic_credentials> parse_basic_authorization(std::string_view header_value);

// The configured callers, looked up by app key; secrets compared in constant time.
class app_registry {
 public:
  explicit app_registry(std::vector<app_config> apps);

  // The app whose key and secret the Authorization header carries, or nullptr.
  const app_config* authenticate(std::string_view authorization_header) const;

  const std::vector<app_config>& apps() const { return apps_; }

 private:
  std::vector<app_config> apps_;
  std::vector<sha256_digest> secret_digests_;  // SHA-256 of each app's secret, made at load
  sha256_digest unknown_key_digest_;           // compared against when the key is unknown
  std::unordered_map<std::string, std::size_t> index_by_key_;
};

}  // namespace image_gateway
