#pragma once
// Scans text eight bytes at a time (one 64-bit word per step) for the bytes that need more than
// a copy: every log line and every answer goes through these, and a byte-at-a-time loop was the
// largest single cost of a refused request.
#include <cstdint>
#include <cstring>
#include <string_view>

namespace image_gateway {
namespace byte_scan {

constexpr std::uint64_t ones = 0x0101010101010101ULL;
constexpr std::uint64_t highs = 0x8080808080808080ULL;

// Non-zero when some byte of `word` is below `n` (n <= 0x80) or has its high bit set.
constexpr std::uint64_t below_or_high(std::uint64_t word, unsigned char n) {
  return ((word - ones * n) | word) & highs;
}
// Non-zero when some byte of `word` equals `c`.
constexpr std::uint64_t has_byte(std::uint64_t word, unsigned char c) {
  const std::uint64_t x = word ^ (ones * c);
  return (x - ones) & ~x & highs;
}

inline std::uint64_t load(const char* p) {
  std::uint64_t word;
  std::memcpy(&word, p, sizeof word);
  return word;
}

}  // namespace byte_scan

// Bytes a JSON string takes as they are: printable ASCII other than '"' and '\\'.
constexpr bool json_plain(unsigned char c) {
  return c >= 0x20 && c < 0x80 && c != '"' && c != '\\';
}

// The index of the first byte at or after `from` that is not json_plain, or text.size().
inline std::size_t json_plain_end(std::string_view text, std::size_t from) {
  using namespace byte_scan;
  std::size_t i = from;
  for (; i + 8 <= text.size(); i += 8) {
    const std::uint64_t word = load(text.data() + i);
    if (below_or_high(word, 0x20) | has_byte(word, '"') | has_byte(word, '\\')) break;
  }
  while (i < text.size() && json_plain(static_cast<unsigned char>(text[i]))) ++i;
  return i;
}

// Whether `text` holds a CR or an LF.
inline bool has_line_break(std::string_view text) {
  using namespace byte_scan;
  std::size_t i = 0;
  for (; i + 8 <= text.size(); i += 8) {
    const std::uint64_t word = load(text.data() + i);
    if (has_byte(word, '\r') | has_byte(word, '\n')) return true;
  }
  for (; i < text.size(); ++i) {
    if (text[i] == '\r' || text[i] == '\n') return true;
  }
  return false;
}

}  // namespace image_gateway
