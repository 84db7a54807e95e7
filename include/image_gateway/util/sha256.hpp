#pragma once

#include <array>
#include <span>
#include <string>
#include <string_view>

namespace image_gateway {

// Lower-case hex SHA-256 (OpenSSL).
using sha256_digest = std::array<unsigned char, 32>;

// The digest itself, for comparisons: no hex text, nothing allocated.
sha256_digest sha256_of(std::string_view data);

std::string sha256_hex(std::string_view data);
std::string sha256_hex(std::span<const unsigned char> data);

// SHA-256 over data that arrives in pieces (a body as it is received): no second pass over it.
class sha256_stream {
 public:
  sha256_stream();
  ~sha256_stream();
  sha256_stream(const sha256_stream&) = delete;
  sha256_stream& operator=(const sha256_stream&) = delete;

  void update(std::string_view data);
  // Lower-case hex of everything given so far; the stream then starts over.
  std::string finish_hex();

 private:
  void* context_;  // EVP_MD_CTX, kept out of this header
  bool ok_;
};

// Equal contents in time independent of where they differ (lengths may leak).
bool constant_time_equal(std::string_view a, std::string_view b);

}  // namespace image_gateway
