#pragma once
// Hand-made PNG bytes for tests that need exact chunks: malformed, hostile or unusual files no
// encoder would write. Header-only; every function is pure.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace image_gateway::png_bytes {

inline std::string be32(std::uint32_t value) {
  return {static_cast<char>(value >> 24), static_cast<char>(value >> 16),
          static_cast<char>(value >> 8), static_cast<char>(value)};
}

inline std::uint32_t crc32(std::string_view data) {
  std::uint32_t crc = 0xffffffffU;
  for (unsigned char byte : data) {
    crc ^= byte;
    for (int k = 0; k < 8; ++k) crc = (crc & 1U) != 0 ? 0xedb88320U ^ (crc >> 1) : crc >> 1;
  }
  return ~crc;
}

// Length, type, data and a correct CRC.
inline std::string chunk(std::string_view type, std::string_view data) {
  const std::string body = std::string(type) + std::string(data);
  return be32(static_cast<std::uint32_t>(data.size())) + body + be32(crc32(body));
}

inline const std::string signature("\x89PNG\r\n\x1a\n", 8);

// An RGB 8-bit PNG with any IHDR dimensions and any IDAT payload.
inline std::string rgb_with_idat(std::uint32_t width, std::uint32_t height, std::string_view idat) {
  const std::string ihdr = be32(width) + be32(height) + std::string("\x08\x02\x00\x00\x00", 5);
  return signature + chunk("IHDR", ihdr) + chunk("IDAT", idat) + chunk("IEND", "");
}

// A zlib stream holding `raw` (at most 65535 bytes) in one stored, uncompressed block.
inline std::string stored_zlib(std::string_view raw) {
  std::uint32_t a = 1;
  std::uint32_t b = 0;
  for (unsigned char byte : raw) {
    a = (a + byte) % 65521;
    b = (b + a) % 65521;
  }
  const auto length = static_cast<std::uint16_t>(raw.size());
  std::string out = "\x78\x01\x01";
  out += {static_cast<char>(length & 0xff), static_cast<char>(length >> 8),
          static_cast<char>(~length & 0xff), static_cast<char>((~length >> 8) & 0xff)};
  return out + std::string(raw) + be32((b << 16) | a);
}

// A zlib stream of fixed-Huffman deflate that inflates to `copies` * 258 + 1 zero bytes: the
// classic decompression bomb, about 1 bit of input for 20 bytes of output.
inline std::string zlib_bomb(std::size_t copies) {
  std::string out = "\x78\x01";
  std::uint32_t acc = 0;
  int count = 0;
  auto bit = [&](std::uint32_t value) {
    acc |= (value & 1U) << count;
    if (++count == 8) {
      out.push_back(static_cast<char>(acc));
      acc = 0;
      count = 0;
    }
  };
  auto huffman = [&](std::uint32_t code, int length) {  // Huffman codes go most significant first
    for (int i = length - 1; i >= 0; --i) bit(code >> i);
  };
  bit(1);  // BFINAL
  bit(1);  // BTYPE = 01, fixed Huffman, least significant bit first
  bit(0);
  huffman(0x30, 8);  // literal 0
  for (std::size_t i = 0; i < copies; ++i) {
    huffman(0xc5, 8);  // length symbol 285: 258 bytes
    huffman(0, 5);     // distance code 0: distance 1
  }
  huffman(0, 7);  // end of block
  while (count != 0) bit(0);
  const std::uint64_t length = copies * 258 + 1;
  out += be32(static_cast<std::uint32_t>(((length % 65521) << 16) | 1));  // Adler-32 of zeros
  return out;
}

}  // namespace image_gateway::png_bytes
