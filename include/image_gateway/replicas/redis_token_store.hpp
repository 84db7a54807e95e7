#pragma once
// OPPO tokens shared through Redis (docs/scaling.md#what-is-shared): one key per OPPO app holding
// {"token":"…","expires_at_ms":N} that expires with the token, and a refresh lock beside it, a
// lease of `lease` renewed while its owner calls OPPO.
#include <chrono>
#include <memory>

#include "image_gateway/oppo/token_store.hpp"
#include "image_gateway/redis/client.hpp"
#include "image_gateway/replicas/key_layout.hpp"

namespace image_gateway::replicas {

using oppo::auth_token;
class replay_queue;

class redis_token_store final : public oppo::token_store {
 public:
  redis_token_store(redis::client& redis, key_layout keys,
                    std::chrono::milliseconds lease = std::chrono::milliseconds(2000));
  ~redis_token_store() override;

  boost::asio::awaitable<loaded> load(std::string oppo_app_key) override;
  boost::asio::awaitable<lock_result> lock(std::string oppo_app_key, std::string owner) override;
  boost::asio::awaitable<std::unique_ptr<renewal>> keep(std::string oppo_app_key,
                                                        std::string owner) override;
  boost::asio::awaitable<void> unlock(std::string oppo_app_key, std::string owner) override;
  boost::asio::awaitable<std::optional<auth_token>> store(std::string oppo_app_key,
                                                          auth_token fresh,
                                                          std::string refused) override;

  // The stored JSON as a token; nullopt for junk (ignored, and overwritten by the next store).
  static std::optional<auth_token> parse(std::string_view stored);

 private:
  // Releases the lock when Redis may have taken it for us but did not say so in time.
  boost::asio::awaitable<void> release_later(std::string lock_key, std::string owner);

  redis::client& redis_;
  key_layout keys_;
  std::chrono::milliseconds lease_;
  std::unique_ptr<replay_queue> replays_;
};

}  // namespace image_gateway::replicas
