#include "image_gateway/util/jitter.hpp"

#include <random>

namespace image_gateway {

std::chrono::milliseconds jittered(std::chrono::milliseconds pause) {
  thread_local std::mt19937 random{std::random_device{}()};
  std::uniform_int_distribution<long long> pick(pause.count() / 2, pause.count());
  return std::chrono::milliseconds(pick(random));
}

}  // namespace image_gateway
