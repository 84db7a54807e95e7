#include "png_guard.hpp"

#include "image_gateway/image/image_check.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <utility>

namespace image_gateway::png_guard {

namespace {

constexpr std::uint8_t palette_colour_type = 3;
constexpr std::size_t full_palette_bytes = 256 * 3;

std::uint32_t be32(std::span<const unsigned char> bytes, std::size_t at) {
  return (std::uint32_t{bytes[at]} << 24) | (std::uint32_t{bytes[at + 1]} << 16) |
         (std::uint32_t{bytes[at + 2]} << 8) | std::uint32_t{bytes[at + 3]};
}

void append_be32(std::string& out, std::uint32_t value) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>(value >> shift));
}

struct chunk {
  std::size_t at;  // offset of its length field
  std::uint32_t length;
  std::string_view type;
};

}  // namespace

verdict check(std::span<const unsigned char> bytes) {
  verdict result;
  if (bytes.size() < 33 || sniff_format(bytes) != image_format::png) return result;
  // IHDR first (stb insists): length, "IHDR", width, height, depth, then the colour type.
  const bool palette = bytes[25] == palette_colour_type;
  std::size_t palette_entries = 0;
  std::string copy;        // built only when a PLTE needs padding
  std::size_t copied = 0;  // bytes[0, copied) are in `copy` already
  bool image_data_seen = false;
  std::size_t at = 8;
  while (bytes.size() - at >= 8) {  // a chunk's length and type
    const chunk c{at, be32(bytes, at),
                  std::string_view(reinterpret_cast<const char*>(bytes.data()) + at + 4, 4)};
    if (c.length > bytes.size() - at - 8) break;               // stb stops here too
    const std::size_t next = at + 12 + std::size_t{c.length};  // length, type, data, CRC
    if (c.type == "IDAT") {
      if (!image_data_seen && c.length == 0) {
        result.refusal = "an empty IDAT chunk before the image data";
        return result;
      }
      image_data_seen = true;
    } else if (palette && c.type == "PLTE" && c.length % 3 == 0 && c.length < full_palette_bytes) {
      palette_entries = c.length / 3;
      copy.append(reinterpret_cast<const char*>(bytes.data()) + copied, at - copied);
      append_be32(copy, static_cast<std::uint32_t>(full_palette_bytes));
      copy.append("PLTE");
      copy.append(reinterpret_cast<const char*>(bytes.data()) + at + 8, c.length);
      copy.append(full_palette_bytes - c.length, '\0');
      append_be32(copy, 0);  // CRC: stb does not read it
      copied = std::min(next, bytes.size());
    } else if (palette && c.type == "PLTE") {
      palette_entries = c.length / 3;  // full, or malformed: stb judges it
    } else if (palette && c.type == "tRNS" && c.length > palette_entries) {
      result.refusal = "bad tRNS len";
      return result;
    }
    if (next > bytes.size()) break;
    at = next;
  }
  if (!copy.empty()) {
    copy.append(reinterpret_cast<const char*>(bytes.data()) + copied, bytes.size() - copied);
    result.rewritten = std::move(copy);
  }
  return result;
}

}  // namespace image_gateway::png_guard
