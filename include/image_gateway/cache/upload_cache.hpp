#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "image_gateway/domain/image_kind.hpp"

namespace image_gateway {

// Which upload an id stands for: the same bytes, of the same kind, for the same OPPO app, fitted
// the same way. `sha256_hex` is the source's digest as the caller gave it; `fit_tag` is
// fit_cache_tag() ("" when not fitted, which keeps the keys of unfitted images unchanged; never
// holds '|').
struct upload_key {
  std::string sha256_hex;
  image_kind kind;
  std::string oppo_app_key;
  std::string fit_tag = {};
};

// OPPO picture ids by upload_key, each kept until its expiry, at most max_entries (least
// recently used evicted first). max_entries 0 turns the cache off. Thread-safe.
class upload_cache {
 public:
  using clock = std::chrono::steady_clock;

  explicit upload_cache(std::size_t max_entries);

  std::optional<std::string> find(const upload_key& key, clock::time_point now);
  void insert(const upload_key& key, std::string picture_id, clock::time_point expires_at);

  std::size_t size() const;
  std::uint64_t evictions() const;

  // The ids not yet expired, most recently used first (for writing them to a shared store that
  // lost them).
  struct live_entry {
    upload_key key;
    std::string picture_id;
    clock::time_point expires_at;
  };
  std::vector<live_entry> live(clock::time_point now) const;

  // One string per key, for maps: no two different keys flatten alike.
  static std::string flatten(const upload_key& key);
  static void flatten_into(std::string& flat, const upload_key& key);  // the same, reusing `flat`
  // The key a flattened string stands for; nullopt for any string flatten() does not make.
  static std::optional<upload_key> unflatten(std::string_view flat);

 private:
  struct entry {
    std::string key;
    std::string picture_id;
    clock::time_point expires_at;
  };

  std::size_t max_entries_;
  mutable std::mutex mutex_;
  std::list<entry> lru_;  // most recently used first
  std::unordered_map<std::string, std::list<entry>::iterator> index_;
  std::uint64_t evictions_ = 0;
};

}  // namespace image_gateway
