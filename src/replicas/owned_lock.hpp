#pragma once
// The one script that releases a lock the replicas take with SET NX PX (an upload's, a token
// refresh's).
#include "image_gateway/redis/client.hpp"

namespace image_gateway::replicas {

// KEYS[1] the lock; ARGV[1] its owner's random token. Deletes the lock only while that owner
// still holds it: a lock that expired and was taken by another replica is never released by its
// first owner. Answers 1.
const redis::script& release_owned_lock();

}  // namespace image_gateway::replicas
