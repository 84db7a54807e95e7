#include "image_gateway/util/random_hex.hpp"

#include <algorithm>
#include <cstdint>
#include <random>

namespace image_gateway {

std::string random_hex(std::size_t digits) {
  thread_local std::mt19937_64 generator{std::random_device{}()};
  static constexpr char hex_digits[] = "0123456789abcdef";
  std::string text(digits, '0');
  // Sixteen digits per 64-bit draw (a request id is 32 digits, made for every request).
  for (std::size_t i = 0; i < digits; i += 16) {
    std::uint64_t bits = generator();
    const std::size_t count = std::min<std::size_t>(digits - i, 16);
    for (std::size_t k = 0; k < count; ++k, bits >>= 4) text[i + k] = hex_digits[bits & 0xf];
  }
  return text;
}

}  // namespace image_gateway
