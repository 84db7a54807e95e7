#include "image_gateway/util/sha256.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <array>

namespace image_gateway {

std::string sha256_hex(std::span<const unsigned char> data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  EVP_Digest(data.data(), data.size(), digest.data(), &length, EVP_sha256(), nullptr);
  static constexpr char hex_digits[] = "0123456789abcdef";
  std::string hex(static_cast<std::size_t>(length) * 2, '0');
  for (unsigned int i = 0; i < length; ++i) {
    hex[2 * i] = hex_digits[digest[i] >> 4];
    hex[2 * i + 1] = hex_digits[digest[i] & 0x0f];
  }
  return hex;
}

std::string sha256_hex(std::string_view data) {
  return sha256_hex(
      std::span(reinterpret_cast<const unsigned char*>(data.data()), data.size()));
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace image_gateway
