#include "image_gateway/auth/basic_auth.hpp"

#include "image_gateway/util/sha256.hpp"
#include "image_gateway/util/strings.hpp"

namespace image_gateway {

namespace {

bool is_space(char c) { return c == ' ' || c == '\t'; }

std::string_view trim(std::string_view text) {
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
  return text;
}

}  // namespace

std::optional<basic_credentials> parse_basic_authorization(std::string_view header_value) {
  constexpr std::string_view scheme = "basic";
  std::string_view rest = trim(header_value);
  if (rest.size() <= scheme.size() || !iequals(rest.substr(0, scheme.size()), scheme)) {
    return std::nullopt;
  }
  rest.remove_prefix(scheme.size());
  if (rest.front() != ' ') return std::nullopt;  // "Basicx…" or "Basic\t…" is another scheme
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  if (rest.empty()) return std::nullopt;

  std::optional<std::string> decoded = base64_decode(rest);
  if (!decoded) return std::nullopt;
  // RFC 7617: the user-id cannot contain a colon, the password can.
  const std::size_t colon = decoded->find(':');
  if (colon == std::string::npos) return std::nullopt;
  return basic_credentials{decoded->substr(0, colon), decoded->substr(colon + 1)};
}

app_registry::app_registry(std::vector<app_config> apps)
    : apps_(std::move(apps)), unknown_key_digest_(sha256_of("\x01unknown")) {
  secret_digests_.reserve(apps_.size());
  for (std::size_t i = 0; i < apps_.size(); ++i) {
    secret_digests_.push_back(sha256_of(apps_[i].master_secret));
    if (!index_by_key_.emplace(apps_[i].app_key, i).second) {
      throw config_error("apps[" + std::to_string(i) + "].app_key: duplicate app key \"" +
                         apps_[i].app_key + "\"");
    }
  }
}

const app_config* app_registry::authenticate(std::string_view authorization_header) const {
  const std::optional<basic_credentials> credentials =
      parse_basic_authorization(authorization_header);
  if (!credentials) return nullptr;
  // App keys are public identifiers; only the secret needs the constant-time treatment.
  const auto found = index_by_key_.find(credentials->user);
  const bool known = found != index_by_key_.end();
  const app_config* app = known ? &apps_[found->second] : nullptr;
  // Compare fixed-length digests so neither the secret's length nor where it differs leaks.
  // The compare runs for unknown keys too, so both failures take the same path.
  const sha256_digest presented = sha256_of(credentials->password);
  const sha256_digest& expected = known ? secret_digests_[found->second] : unknown_key_digest_;
  const bool secret_ok = constant_time_equal(
      std::string_view(reinterpret_cast<const char*>(presented.data()), presented.size()),
      std::string_view(reinterpret_cast<const char*>(expected.data()), expected.size()));
  return app != nullptr && secret_ok ? app : nullptr;
}

}  // namespace image_gateway
