#pragma once
// Walking a JPEG's markers: the 0xFF bytes are found with memchr, not a byte at a time (the
// entropy-coded data between them is most of a file: ~1 ms per 1.5 MB byte by byte).
#include <cstddef>
#include <cstring>
#include <span>

namespace image_gateway {

// The index of the first 0xFF at or after `from`, or bytes.size() when there is none.
inline std::size_t next_ff(std::span<const unsigned char> bytes, std::size_t from) {
  if (from >= bytes.size()) return bytes.size();
  const void* found = std::memchr(bytes.data() + from, 0xff, bytes.size() - from);
  return found == nullptr
             ? bytes.size()
             : static_cast<std::size_t>(static_cast<const unsigned char*>(found) - bytes.data());
}

}  // namespace image_gateway
