#pragma once

#include <chrono>

namespace image_gateway {

// A pause drawn uniformly from [pause / 2, pause] by a per-thread generator: retries and polls
// of several replicas spread out instead of knocking at once.
std::chrono::milliseconds jittered(std::chrono::milliseconds pause);

}  // namespace image_gateway
