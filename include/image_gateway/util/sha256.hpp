#pragma once

#include <span>
#include <string>
#include <string_view>

namespace image_gateway {

// Lower-case hex SHA-256 (OpenSSL).
std::string sha256_hex(std::string_view data);
std::string sha256_hex(std::span<const unsigned char> data);

// Equal contents in time independent of where they differ (lengths may leak).
bool constant_time_equal(std::string_view a, std::string_view b);

}  // namespace image_gateway
