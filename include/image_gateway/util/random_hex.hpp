#pragma once

#include <cstddef>
#include <string>

namespace image_gateway {

// `digits` random lowercase hex digits from a per-thread generator seeded by the system:
// request ids and lock owners, unguessable enough to never collide, not for secrets.
std::string random_hex(std::size_t digits);

}  // namespace image_gateway
