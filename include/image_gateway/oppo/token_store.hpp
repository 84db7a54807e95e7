#pragma once
// Where replicas share OPPO tokens (docs/scaling.md#what-is-shared). token_cache works alone
// without one; with one, a refresh is taken from or made for the store. Implemented over Redis in
// replicas/.
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "image_gateway/oppo/protocol.hpp"

namespace image_gateway::oppo {

class token_store {
 public:
  virtual ~token_store() = default;

  enum class status { ok, failed };  // failed: the store could not be used for this call

  struct loaded {
    status outcome = status::failed;
    std::optional<auth_token> token;  // ok without a token: the store holds none (or junk)
  };
  // The token the store holds for an OPPO app key.
  virtual boost::asio::awaitable<loaded> load(std::string oppo_app_key) = 0;

  enum class lock_result { acquired, held_elsewhere, failed };
  // Becomes the one refresher of this OPPO app, if nobody else is: a lock that lives one lease
  // (the store's) unless renewed, or until unlock. `owner` is a random token of this attempt;
  // when the store fails, a lock it may still have taken is released once it answers again.
  virtual boost::asio::awaitable<lock_result> lock(std::string oppo_app_key, std::string owner) = 0;
  // Renews an acquired lock while its owner works, until the handle is destroyed.
  class renewal {
   public:
    virtual ~renewal() = default;
  };
  virtual boost::asio::awaitable<std::unique_ptr<renewal>> keep(std::string oppo_app_key,
                                                                std::string owner) = 0;
  virtual boost::asio::awaitable<void> unlock(std::string oppo_app_key, std::string owner) = 0;

  // Stores `fresh` unless the store holds a token that ends no earlier and is not `refused`;
  // answers what the store holds afterwards (nullopt when the store failed).
  virtual boost::asio::awaitable<std::optional<auth_token>> store(std::string oppo_app_key,
                                                                  auth_token fresh,
                                                                  std::string refused) = 0;
};

}  // namespace image_gateway::oppo
