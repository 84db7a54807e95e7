#include "image_gateway/cache/upload_cache.hpp"

#include <charconv>

namespace image_gateway {

upload_cache::upload_cache(std::size_t max_entries) : max_entries_(max_entries) {}

// The digest's length is spelled out, so no two keys flatten alike whatever bytes they hold;
// the fit tag (no '|') rides on the kind, and is absent when empty.
std::string upload_cache::flatten(const upload_key& key) {
  std::string flat;
  flatten_into(flat, key);
  return flat;
}

void upload_cache::flatten_into(std::string& flat, const upload_key& key) {
  flat.clear();
  flat.reserve(key.sha256_hex.size() + key.oppo_app_key.size() + key.fit_tag.size() + 16);
  flat += kind_name(key.kind);
  if (!key.fit_tag.empty()) {  // before the first '|', so it can never run into another part
    flat += '+';
    flat += key.fit_tag;
  }
  flat += '|';
  char length[24];
  const auto [end, ec] = std::to_chars(length, length + sizeof length, key.sha256_hex.size());
  flat.append(length, end);
  flat += '|';
  flat += key.sha256_hex;
  flat += '|';
  flat += key.oppo_app_key;
}

std::optional<upload_key> upload_cache::unflatten(std::string_view flat) {
  const auto head_end = flat.find('|');
  if (head_end == std::string_view::npos) return std::nullopt;
  const std::string_view head = flat.substr(0, head_end);
  const auto plus = head.find('+');
  const std::string_view kind_text = head.substr(0, plus);
  std::optional<image_kind> kind;
  for (const image_kind k : all_image_kinds) {
    if (kind_name(k) == kind_text) kind = k;
  }
  if (!kind) return std::nullopt;
  std::string_view rest = flat.substr(head_end + 1);
  const auto length_end = rest.find('|');
  if (length_end == std::string_view::npos || length_end == 0 || length_end > 9)
    return std::nullopt;
  std::size_t length = 0;
  for (const char c : rest.substr(0, length_end)) {
    if (c < '0' || c > '9') return std::nullopt;
    length = length * 10 + static_cast<std::size_t>(c - '0');
  }
  rest = rest.substr(length_end + 1);
  if (rest.size() < length + 1 || rest[length] != '|') return std::nullopt;
  upload_key key{
      std::string(rest.substr(0, length)), *kind, std::string(rest.substr(length + 1)),
      plus == std::string_view::npos ? std::string() : std::string(head.substr(plus + 1))};
  if (flatten(key) != flat) return std::nullopt;
  return key;
}

std::vector<upload_cache::live_entry> upload_cache::live(clock::time_point now) const {
  std::vector<live_entry> found;
  const std::lock_guard lock(mutex_);
  found.reserve(lru_.size());
  for (const entry& e : lru_) {
    if (e.expires_at <= now) continue;
    if (auto key = unflatten(e.key)) found.push_back({std::move(*key), e.picture_id, e.expires_at});
  }
  return found;
}

std::optional<std::string> upload_cache::find(const upload_key& key, clock::time_point now) {
  if (max_entries_ == 0) return std::nullopt;
  thread_local std::string flat;  // a lookup allocates no key
  flatten_into(flat, key);
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
