#include "image_gateway/cache/upload_cache.hpp"

namespace image_gateway {

upload_cache::upload_cache(std::size_t max_entries) : max_entries_(max_entries) {}

// The digest's length is spelled out, so no two keys flatten alike whatever bytes they hold;
// the fit tag (no '|') rides on the kind, and is absent when empty.
std::string upload_cache::flatten(const upload_key& key) {
  std::string flat;
  flat.reserve(key.sha256_hex.size() + key.oppo_app_key.size() + 16);
  flat += kind_name(key.kind);
  if (!key.fit_tag.empty()) {  // before the first '|', so it can never run into another part
    flat += '+';
    flat += key.fit_tag;
  }
  flat += '|';
  flat += std::to_string(key.sha256_hex.size());
  flat += '|';
  flat += key.sha256_hex;
  flat += '|';
  flat += key.oppo_app_key;
  return flat;
}

std::optional<std::string> upload_cache::find(const upload_key& key, clock::time_point now) {
  if (max_entries_ == 0) return std::nullopt;
  const std::string flat = flatten(key);
  const std::lock_guard lock(mutex_);
  const auto found = index_.find(flat);
  if (found == index_.end()) return std::nullopt;
  const auto it = found->second;
  if (now >= it->expires_at) {  // OPPO may already have dropped the picture
    index_.erase(found);
    lru_.erase(it);
    return std::nullopt;
  }
  lru_.splice(lru_.begin(), lru_, it);
  return it->picture_id;
}

void upload_cache::insert(const upload_key& key, std::string picture_id,
                          clock::time_point expires_at) {
  if (max_entries_ == 0) return;
  std::string flat = flatten(key);
  const std::lock_guard lock(mutex_);
  const auto found = index_.find(flat);
  if (found != index_.end()) {
    const auto it = found->second;
    it->picture_id = std::move(picture_id);
    it->expires_at = expires_at;
    lru_.splice(lru_.begin(), lru_, it);
    return;
  }
  lru_.push_front(entry{flat, std::move(picture_id), expires_at});
  index_.emplace(std::move(flat), lru_.begin());
  while (lru_.size() > max_entries_) {
    index_.erase(lru_.back().key);
    lru_.pop_back();
    ++evictions_;
  }
}

std::size_t upload_cache::size() const {
  const std::lock_guard lock(mutex_);
  return lru_.size();
}

std::uint64_t upload_cache::evictions() const {
  const std::lock_guard lock(mutex_);
  return evictions_;
}

}  // namespace image_gateway
