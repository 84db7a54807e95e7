#include "image_gateway/util/sample_images.hpp"

#include <array>
#include <cstdint>
#include <stdexcept>
#include <vector>

// stb_image_write compiled here only, with internal linkage so it can never clash.
#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STB_IMAGE_WRITE_STATIC
#define STBI_WRITE_NO_STDIO
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpedantic"
#pragma GCC diagnostic ignored "-Wshadow"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#include <stb_image_write.h>
#pragma GCC diagnostic pop

// stb_image's declarations only: decode_rgba (trusted bytes: tests and tools) calls the
// gateway's own build of it (src/image/stb_image_impl.cpp, no budget set here).
#include <stb_image.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

namespace image_gateway::samples {

namespace {

void append(void* context, void* data, int size) {
  static_cast<std::string*>(context)->append(static_cast<const char*>(data),
                                             static_cast<std::size_t>(size));
}

// A smooth RGB gradient (compresses well, so sizes stay far under OPPO's limits) shifted by the
// seed, with the seed's 32 bits stamped into the first row so every seed gives other pixels.
std::vector<unsigned char> pixels(int width, int height, unsigned seed) {
  if (width <= 0 || height <= 0) throw std::invalid_argument("sample image needs a positive size");
  std::uint32_t mix = seed * 2654435761U;
  unsigned shift_r = mix & 0xff;
  unsigned shift_g = (mix >> 8) & 0xff;
  unsigned shift_b = (mix >> 16) & 0xff;
  std::vector<unsigned char> out(static_cast<std::size_t>(width) *
                                 static_cast<std::size_t>(height) * 3);
  unsigned w = static_cast<unsigned>(width > 1 ? width - 1 : 1);
  unsigned h = static_cast<unsigned>(height > 1 ? height - 1 : 1);
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      auto ux = static_cast<unsigned>(x);
      auto uy = static_cast<unsigned>(y);
      std::size_t at = (static_cast<std::size_t>(y) * static_cast<std::size_t>(width) +
                        static_cast<std::size_t>(x)) *
                       3;
      out[at] = static_cast<unsigned char>(ux * 255 / w + shift_r);
      out[at + 1] = static_cast<unsigned char>(uy * 255 / h + shift_g);
      out[at + 2] = static_cast<unsigned char>((ux + uy) * 127 / (w + h) + shift_b);
    }
  }
  for (int bit = 0; bit < 32 && bit < width; ++bit) {
    unsigned char value = ((seed >> bit) & 1U) != 0 ? 255 : 0;
    std::size_t at = static_cast<std::size_t>(bit) * 3;
    out[at] = out[at + 1] = out[at + 2] = value;
  }
  return out;
}

std::uint32_t crc32(const unsigned char* data, std::size_t size, std::uint32_t crc = 0) {
  static const std::array<std::uint32_t, 256> table = [] {
    std::array<std::uint32_t, 256> t{};
    for (std::uint32_t n = 0; n < 256; ++n) {
      std::uint32_t c = n;
      for (int k = 0; k < 8; ++k) c = (c & 1U) != 0 ? 0xedb88320U ^ (c >> 1) : c >> 1;
      t[n] = c;
    }
    return t;
  }();
  crc = ~crc;
  for (std::size_t i = 0; i < size; ++i) crc = table[(crc ^ data[i]) & 0xffU] ^ (crc >> 8);
  return ~crc;
}

void put_be32(std::string& out, std::uint32_t value) {
  out.push_back(static_cast<char>(value >> 24));
  out.push_back(static_cast<char>(value >> 16));
  out.push_back(static_cast<char>(value >> 8));
  out.push_back(static_cast<char>(value));
}

std::uint32_t get_be32(const std::string& bytes, std::size_t at) {
  return (std::uint32_t{static_cast<unsigned char>(bytes[at])} << 24) |
         (std::uint32_t{static_cast<unsigned char>(bytes[at + 1])} << 16) |
         (std::uint32_t{static_cast<unsigned char>(bytes[at + 2])} << 8) |
         std::uint32_t{static_cast<unsigned char>(bytes[at + 3])};
}

}  // namespace

std::string png(int width, int height, unsigned seed) {
  const std::vector<unsigned char> data = pixels(width, height, seed);
  return encode_png_rgb(data.data(), width, height);
}

std::string jpeg(int width, int height, unsigned seed, int quality) {
  const std::vector<unsigned char> data = pixels(width, height, seed);
  return encode_jpeg_rgb(data.data(), width, height, quality);
}

// A chunk named "igPd": lower-case first letter = ancillary (decoders skip it), lower-case
// second = private, upper-case third = reserved bit clear, lower-case fourth = safe to copy.
std::string pad_png(const std::string& png_bytes, std::size_t total_bytes) {
  constexpr std::size_t overhead = 12;  // length, type, CRC
  if (total_bytes == png_bytes.size()) return png_bytes;
  if (total_bytes < png_bytes.size() + overhead) {
    throw std::invalid_argument("pad_png: total_bytes leaves no room for a chunk");
  }
  // Walk the chunks to IEND.
  std::size_t pos = 8;
  std::size_t iend = std::string::npos;
  while (pos + 12 <= png_bytes.size()) {
    std::uint32_t length = get_be32(png_bytes, pos);
    if (png_bytes.compare(pos + 4, 4, "IEND") == 0) {
      iend = pos;
      break;
    }
    pos += 12 + std::size_t{length};
  }
  if (png_bytes.size() < 8 || png_bytes.compare(1, 3, "PNG") != 0 || iend == std::string::npos) {
    throw std::invalid_argument("pad_png: not a PNG with an IEND chunk");
  }
  std::size_t data_size = total_bytes - png_bytes.size() - overhead;
  if (data_size > 0x7fffffffU) throw std::invalid_argument("pad_png: chunk too large");

  std::string chunk;
  chunk.reserve(data_size + overhead);
  put_be32(chunk, static_cast<std::uint32_t>(data_size));
  chunk += "igPd";
  chunk.append(data_size, '\0');
  put_be32(chunk, crc32(reinterpret_cast<const unsigned char*>(chunk.data()) + 4, data_size + 4));

  std::string out = png_bytes.substr(0, iend);
  out += chunk;
  out.append(png_bytes, iend);
  return out;
}

// COM segments right after SOI; one segment holds at most 65533 bytes of comment (its length
// field counts itself), so a large pad is spread evenly over several.
std::string pad_jpeg(const std::string& jpeg_bytes, std::size_t total_bytes) {
  constexpr std::size_t overhead = 4;  // FF FE and the 2-byte length
  constexpr std::size_t max_segment = 65535 + 2;
  if (jpeg_bytes.size() < 2 || static_cast<unsigned char>(jpeg_bytes[0]) != 0xff ||
      static_cast<unsigned char>(jpeg_bytes[1]) != 0xd8) {
    throw std::invalid_argument("pad_jpeg: not a JPEG");
  }
  if (total_bytes == jpeg_bytes.size()) return jpeg_bytes;
  if (total_bytes < jpeg_bytes.size() + overhead) {
    throw std::invalid_argument("pad_jpeg: total_bytes leaves no room for a segment");
  }
  std::size_t extra = total_bytes - jpeg_bytes.size();
  std::size_t segments = (extra + max_segment - 1) / max_segment;
  std::string out = jpeg_bytes.substr(0, 2);
  for (std::size_t i = 0; i < segments; ++i) {
    // Split evenly; with two or more segments each is over 32 KB, so never below the overhead.
    std::size_t size = extra / segments + (i < extra % segments ? 1 : 0);
    std::size_t length_field = size - 2;
    out.push_back(static_cast<char>(0xff));
    out.push_back(static_cast<char>(0xfe));
    out.push_back(static_cast<char>(length_field >> 8));
    out.push_back(static_cast<char>(length_field & 0xff));
    out.append(size - overhead, ' ');
  }
  out.append(jpeg_bytes, 2);
  return out;
}

std::string png_rgba(int width, int height, unsigned char alpha, unsigned seed) {
  const std::vector<unsigned char> rgb = pixels(width, height, seed);
  std::vector<unsigned char> rgba(rgb.size() / 3 * 4);
  for (std::size_t i = 0; i < rgb.size() / 3; ++i) {
    rgba[i * 4] = rgb[i * 3];
    rgba[i * 4 + 1] = rgb[i * 3 + 1];
    rgba[i * 4 + 2] = rgb[i * 3 + 2];
    rgba[i * 4 + 3] = alpha;
  }
  std::string out;
  if (stbi_write_png_to_func(append, &out, width, height, 4, rgba.data(), width * 4) == 0) {
    throw std::runtime_error("stbi_write_png_to_func failed");
  }
  return out;
}

std::string noise_png(int width, int height, unsigned seed) {
  if (width <= 0 || height <= 0) throw std::invalid_argument("sample image needs a positive size");
  std::mt19937 random(seed);
  std::vector<unsigned char> data(static_cast<std::size_t>(width) *
                                  static_cast<std::size_t>(height) * 3);
  for (unsigned char& byte : data) byte = static_cast<unsigned char>(random() & 0xffU);
  return encode_png_rgb(data.data(), width, height);
}

namespace {

std::vector<unsigned char> photo_pixels(int width, int height, unsigned seed) {
  if (width <= 0 || height <= 0) throw std::invalid_argument("sample image needs a positive size");
  std::mt19937 random(seed);
  std::uniform_int_distribution<int> grain(-6, 6);
  std::vector<unsigned char> out(static_cast<std::size_t>(width) *
                                 static_cast<std::size_t>(height) * 3);
  const double w = width;
  const double h = height;
  std::size_t at = 0;
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      const double u = x / w;
      const double v = y / h;
      const double wave = 40.0 * std::sin(u * 25.0 + seed) * std::cos(v * 17.0);
      const double channel[3] = {60 + 150 * u + wave, 40 + 170 * v - wave,
                                 120 + 80 * std::sin((u + v) * 9.0)};
      for (const double c : channel) {
        out[at++] = static_cast<unsigned char>(std::clamp(c + grain(random), 0.0, 255.0));
      }
    }
  }
  return out;
}

}  // namespace

std::string encode_png_rgb(const unsigned char* pixels, int width, int height) {
  std::string out;
  if (stbi_write_png_to_func(append, &out, width, height, 3, pixels, width * 3) == 0) {
    throw std::runtime_error("stbi_write_png_to_func failed");
  }
  return out;
}

std::string encode_jpeg_rgb(const unsigned char* pixels, int width, int height, int quality) {
  std::string out;
  if (stbi_write_jpg_to_func(append, &out, width, height, 3, pixels, quality) == 0) {
    throw std::runtime_error("stbi_write_jpg_to_func failed");
  }
  return out;
}

std::string test_card_png(int width, int height) {
  if (width <= 0 || height <= 0) throw std::invalid_argument("sample image needs a positive size");
  static constexpr unsigned char bars[7][3] = {{235, 235, 235}, {235, 235, 16}, {16, 235, 235},
                                               {16, 235, 16},   {235, 16, 235}, {235, 16, 16},
                                               {16, 16, 235}};
  std::vector<unsigned char> data(static_cast<std::size_t>(width) *
                                  static_cast<std::size_t>(height) * 3);
  const double cx = width / 2.0;
  const double cy = height / 2.0;
  const double radius = std::min(width, height) * 0.4;
  const int grid = std::max(8, std::min(width, height) / 8);
  std::size_t at = 0;
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      const unsigned char* colour =
          bars[static_cast<std::size_t>(x) * 7 / static_cast<std::size_t>(width)];
      unsigned char pixel[3] = {colour[0], colour[1], colour[2]};
      const double dx = x + 0.5 - cx;
      const double dy = y + 0.5 - cy;
      const double distance = std::sqrt(dx * dx + dy * dy);
      if (std::abs(distance - radius) < 4.0) pixel[0] = pixel[1] = pixel[2] = 20;  // ring
      if (x % grid < 2 || y % grid < 2) pixel[0] = pixel[1] = pixel[2] = 60;       // grid
      if (x < 6 || y < 6 || x >= width - 6 || y >= height - 6) {                   // frame
        pixel[0] = 255;
        pixel[1] = 120;
        pixel[2] = 0;
      }
      data[at++] = pixel[0];
      data[at++] = pixel[1];
      data[at++] = pixel[2];
    }
  }
  return encode_png_rgb(data.data(), width, height);
}

std::string photo_jpeg(int width, int height, unsigned seed, int quality) {
  const std::vector<unsigned char> data = photo_pixels(width, height, seed);
  return encode_jpeg_rgb(data.data(), width, height, quality);
}

std::string photo_png(int width, int height, unsigned seed) {
  const std::vector<unsigned char> data = photo_pixels(width, height, seed);
  return encode_png_rgb(data.data(), width, height);
}

std::string png_bomb(int width, int height, std::size_t inflated_bytes) {
  const std::vector<unsigned char> zeros(inflated_bytes, 0);
  int compressed_size = 0;
  unsigned char* compressed =
      stbi_zlib_compress(const_cast<unsigned char*>(zeros.data()), static_cast<int>(zeros.size()),
                         &compressed_size, 8);
  if (compressed == nullptr) throw std::runtime_error("stbi_zlib_compress failed");
  const std::string idat(reinterpret_cast<const char*>(compressed),
                         static_cast<std::size_t>(compressed_size));
  STBIW_FREE(compressed);
  const auto chunk = [](std::string& out, const char* type, const std::string& data) {
    put_be32(out, static_cast<std::uint32_t>(data.size()));
    const std::string typed = std::string(type) + data;
    out += typed;
    put_be32(out, crc32(reinterpret_cast<const unsigned char*>(typed.data()), typed.size()));
  };
  std::string header;
  put_be32(header, static_cast<std::uint32_t>(width));
  put_be32(header, static_cast<std::uint32_t>(height));
  header += std::string("\x08\x02\x00\x00\x00", 5);  // 8-bit RGB, deflate, no filter, no interlace
  std::string out("\x89PNG\r\n\x1a\n", 8);
  chunk(out, "IHDR", header);
  chunk(out, "IDAT", idat);
  chunk(out, "IEND", "");
  return out;
}

std::optional<rgba_image> decode_rgba(const std::string& bytes) {
  int width = 0;
  int height = 0;
  int components = 0;
  stbi_uc* data =
      stbi_load_from_memory(reinterpret_cast<const stbi_uc*>(bytes.data()),
                            static_cast<int>(bytes.size()), &width, &height, &components, 4);
  if (data == nullptr) return std::nullopt;
  rgba_image out{width, height, {}};
  out.pixels.assign(data,
                    data + static_cast<std::size_t>(width) * static_cast<std::size_t>(height) * 4);
  stbi_image_free(data);
  return out;
}

double psnr(const rgba_image& a, const rgba_image& b) {
  if (a.width != b.width || a.height != b.height || a.pixels.size() != b.pixels.size()) {
    return std::nan("");
  }
  double squares = 0;
  for (std::size_t i = 0; i < a.pixels.size(); ++i) {
    const double d = static_cast<double>(a.pixels[i]) - static_cast<double>(b.pixels[i]);
    squares += d * d;
  }
  if (squares == 0) return std::numeric_limits<double>::infinity();
  const double mean = squares / static_cast<double>(a.pixels.size());
  return 10.0 * std::log10(255.0 * 255.0 / mean);
}

}  // namespace image_gateway::samples
