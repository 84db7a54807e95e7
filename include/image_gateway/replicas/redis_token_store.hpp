#pragma once
// OPPO tokens shared through Redis (SPEC §8): one key per OPPO app holding
// {"token":"…","expires_at_ms":N} that expires with the token, and a refresh lock beside it.
#include "image_gateway/oppo/token_store.hpp"
#include "image_gateway/redis/client.hpp"
#include "image_gateway/replicas/key_layout.hpp"

namespace image_gateway::replicas {

using oppo::auth_token;

class redis_token_store final : public oppo::token_store {
 public:
  redis_token_store(redis::client& redis, key_layout keys);

  boost::asio::awaitable<loaded> load(std::string oppo_app_key) override;
  boost::asio::awaitable<lock_result> lock(std::string oppo_app_key, std::string owner,
                                           std::chrono::milliseconds ttl) override;
  boost::asio::awaitable<void> unlock(std::string oppo_app_key, std::string owner) override;
  boost::asio::awaitable<std::optional<auth_token>> store(std::string oppo_app_key,
                                                          auth_token fresh,
                                                          std::string refused) override;

  // The stored JSON as a token; nullopt for junk (ignored, and overwritten by the next store).
  static std::optional<auth_token> parse(std::string_view stored);

 private:
  redis::client& redis_;
  key_layout keys_;
};

}  // namespace image_gateway::replicas
