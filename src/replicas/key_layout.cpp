#include "image_gateway/replicas/key_layout.hpp"

#include "image_gateway/util/sha256.hpp"

namespace image_gateway::replicas {

std::string key_layout::short_hash(std::string_view text) { return sha256_hex(text).substr(0, 16); }

std::string key_layout::rate(std::string_view app_key) const {
  return prefix_ + "rate:{" + short_hash(app_key) + "}";
}

std::string key_layout::upload(const upload_key& key) const {
  // The digest is the caller's SHA-256 in hex; hashed again only if it is anything else.
  const bool plain_hex = key.sha256_hex.size() == 64 &&
                         key.sha256_hex.find_first_not_of("0123456789abcdef") == std::string::npos;
  // A fitted upload (fit_tag "contain#rrggbb" or "cover") is another picture than the source's.
  const std::string fitted = key.fit_tag.empty() ? "" : "+" + short_hash(key.fit_tag);
  return prefix_ + "upload:{" + short_hash(key.oppo_app_key) + ":" +
         std::string(kind_name(key.kind)) + fitted + ":" +
         (plain_hex ? key.sha256_hex : sha256_hex(key.sha256_hex)) + "}";
}

std::string key_layout::lock_of(std::string_view key) { return std::string(key) + ":lock"; }

std::string key_layout::upload_lock(const upload_key& key) const { return lock_of(upload(key)); }

std::string key_layout::token(std::string_view oppo_app_key) const {
  return prefix_ + "token:{" + short_hash(oppo_app_key) + "}";
}

std::string key_layout::token_lock(std::string_view oppo_app_key) const {
  return lock_of(token(oppo_app_key));
}

std::string key_layout::epoch() const { return prefix_ + "epoch:{epoch}"; }

}  // namespace image_gateway::replicas
