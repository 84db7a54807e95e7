#pragma once
// The locks the replicas take with SET NX PX (an upload's, a token refresh's) are leases: each
// lives `redis.lock_lease_ms` unless its owner renews it, so no lock outlives an owner that
// stopped (killed, or cut off from Redis) by more than one lease.
#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <memory>
#include <string>

#include "image_gateway/redis/client.hpp"
#include "image_gateway/replicas/replay_queue.hpp"

namespace image_gateway::replicas {

// KEYS[1] the lock; ARGV[1] its owner's random token. Deletes the lock only while that owner
// still holds it: a lock that expired and was taken by another replica is never released by its
// first owner. Answers 1.
const redis::script& release_owned_lock();

// KEYS[1] the lock; ARGV[1] its owner's token, ARGV[2] the lease in ms. Extends the lock by a
// lease only while that owner holds it. Answers 1 when renewed, 0 when the lock is not ours.
const redis::script& renew_owned_lock();

// The owner-checked release of a lock, as a write for the replay queue: worth running for one
// lease from now (after that the lock has lapsed anyway).
replay_queue::write release_write(std::string lock_key, std::string owner,
                                  std::chrono::milliseconds lease, std::string_view name);

// Renews a lock every third of its lease, on `where`, from construction until destruction (an
// owner at work holds one). A renewal that fails is tried again at the next turn; the lock
// lapses a lease after the owner's last successful renewal. `redis` must outlive the turns that
// run while this object exists; after destruction none touches it.
class lease_renewal {
 public:
  lease_renewal(redis::client& redis, std::string lock_key, std::string owner,
                std::chrono::milliseconds lease, const boost::asio::any_io_executor& where);
  ~lease_renewal();
  lease_renewal(const lease_renewal&) = delete;
  lease_renewal& operator=(const lease_renewal&) = delete;

  struct state;

 private:
  std::shared_ptr<state> state_;
};

}  // namespace image_gateway::replicas
