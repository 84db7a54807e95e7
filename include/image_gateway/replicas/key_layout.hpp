#pragma once
// The names of every Redis key the gateway writes (docs/scaling.md#what-redis-holds). All under the
// configured prefix. The part in braces is the Redis Cluster hash tag: one tag per unit that one
// script changes atomically (an upload and its lock, a token and its lock, an app's rate bucket),
// never one tag for a whole app, so the keys spread over a cluster. App keys appear only as a short
// SHA-256 (no braces or odd bytes can reach a key name); never a secret, a token or image bytes.
#include <string>
#include <string_view>

#include "image_gateway/cache/upload_cache.hpp"

namespace image_gateway::replicas {

class key_layout {
 public:
  explicit key_layout(std::string prefix) : prefix_(std::move(prefix)) {}

  std::string rate(std::string_view app_key) const;
  std::string upload(const upload_key& key) const;
  std::string upload_lock(const upload_key& key) const;
  std::string token(std::string_view oppo_app_key) const;
  std::string token_lock(std::string_view oppo_app_key) const;
  // A random word that lives as long as Redis keeps its data: another one means it lost the ids.
  std::string epoch() const;

  // The lock beside a key: `key` + ":lock" (the same hash tag, so the same Cluster slot).
  static std::string lock_of(std::string_view key);
  // The first 16 hex digits of the SHA-256 of `text`.
  static std::string short_hash(std::string_view text);

 private:
  std::string prefix_;
};

}  // namespace image_gateway::replicas
