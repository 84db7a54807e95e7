#include "image_gateway/util/random_hex.hpp"

#include <cstdint>
#include <random>

namespace image_gateway {

std::string random_hex(std::size_t digits) {
  thread_local std::mt19937_64 generator{std::random_device{}()};
  static constexpr char hex_digits[] = "0123456789abcdef";
  std::string text(digits, '0');
  std::uint64_t bits = 0;
  for (std::size_t i = 0; i < digits; ++i, bits >>= 4) {
    if (i % 16 == 0) bits = generator();
    text[i] = hex_digits[bits & 0xf];
  }
  return text;
}

}  // namespace image_gateway
