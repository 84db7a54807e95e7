#pragma once
// One upload per image (docs/scaling.md#what-is-shared): concurrent requests for the same new image
// share one upload, inside a replica (always) and across replicas (with Redis). The picture ids
// live in the local upload cache and, with Redis, under one key per upload that expires with the
// id.
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "image_gateway/cache/upload_cache.hpp"
#include "image_gateway/domain/error.hpp"
#include "image_gateway/redis/client.hpp"
#include "image_gateway/replicas/key_layout.hpp"

namespace image_gateway::replicas {

// Across replicas: the uploader holds `…:lock` (SET NX PX), a lease of `lease` that it renews
// while it uploads; the others poll the id key with jittered back-off within their deadline,
// never longer than the lease the lock has left. When the uploader fails it drops the lock, so
// one waiter takes over at once; when it vanishes, the lease lapses and one waiter takes over.
// The first id stored for an image stays: an uploader that finds another id there adopts it.
// An OPPO business refusal (51, 34, …) is shared with the waiters of this replica (the same bytes
// get the same verdict); any other failure lets one of them take over. When Redis fails, the
// replica uploads alone (its own single flight still holds) and, once Redis answers again,
// stores that id (or adopts the one found there) and ends the claim Redis may have run late.
class upload_flight {
 public:
  using clock = std::chrono::steady_clock;
  using upload_fn = std::function<boost::asio::awaitable<result<std::string>>()>;

  // `shared` null: no Redis. `lease`: how long a lock lives without its owner renewing it.
  upload_flight(upload_cache& local, redis::client* shared, key_layout keys,
                std::chrono::milliseconds lease = std::chrono::milliseconds(2000));
  ~upload_flight();

  // The local copy, then Redis (copied locally until the same expiry).
  boost::asio::awaitable<std::optional<std::string>> find(upload_key key);

  // The id for `key`: uploaded by `upload`, or by another request for the same key here or on
  // another replica (waited for, until `deadline`). Ids are kept for `keep_for` from the start
  // of their upload (not at all when it is not positive).
  boost::asio::awaitable<result<std::string>> upload_once(upload_key key,
                                                          clock::time_point deadline,
                                                          std::chrono::milliseconds keep_for,
                                                          upload_fn upload);

  struct impl;

 private:
  std::shared_ptr<impl> impl_;
};

// An id as read from Redis: anything else is junk under our key, ignored (and overwritten).
bool plausible_picture_id(std::string_view id);

}  // namespace image_gateway::replicas
