#pragma once
// Full decodes of a PNG or JPEG under a memory budget, for the validator (verify_decode) and the
// fit. PNGs go through stb_image (stb_image_impl.cpp), JPEGs through Debian's libjpeg-turbo
// (jpeg_read.cpp): stb 2.27's JPEG entropy decoder misbehaves on corrupt data (shifts by more
// than 31 bits once its bit reader runs dry, found by fuzz_fit), libjpeg-turbo is fuzzed
// continuously upstream and several times faster. stb still reads every header (image_check).
#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "image_gateway/domain/error.hpp"

namespace image_gateway::pixel_decode {

// Decoded pixels are freed by the allocator that made them (stb's budgeted one, or malloc).
struct pixel_deleter {
  void (*release)(void*) = nullptr;
  void operator()(unsigned char* pixels) const {
    if (release != nullptr) release(pixels);
  }
};
using pixel_buffer = std::unique_ptr<unsigned char, pixel_deleter>;

struct decoded_pixels {
  pixel_buffer pixels;  // width * height * channels bytes, rows top to bottom; null on failure
  int width = 0;
  int height = 0;
  int channels = 0;          // as asked (3 RGB, 4 RGBA), or the file's own when asked for 0
  int scale_eighths = 8;     // a JPEG decoded at scale_eighths / 8 of its size (8: full size)
  bool over_budget = false;  // the decode would need more than the budget
  std::string why;           // the decoder's reason when pixels is null
};

// What a decode may leave out: a JPEG is decoded at the smallest DCT scale (M/8, libjpeg-turbo's
// scale_num / scale_denom) that still leaves at least min_width x min_height pixels, by
// jpeg_scale_eighths on the file's own header; zeros (the default) decode every pixel. A PNG is
// always decoded whole (stb_image cannot scale).
struct shrink_on_load {
  long long min_width = 0;
  long long min_height = 0;
};

// A decode to `channels` (3 or 4, or 0 for the file's own layout) per pixel, whose memory may not
// exceed budget_bytes. Bytes that are neither PNG nor JPEG by their magic fail.
decoded_pixels decode_pixels(std::span<const unsigned char> bytes, int channels,
                             std::size_t budget_bytes, shrink_on_load shrink = {});

// The refusal for a decode that failed under `budget_bytes`: image_undecodable, "<field>: image
// does not decode (it needs more than N bytes of memory)" or "... (<the decoder's reason>)".
api_error decode_failure(const decoded_pixels& failed, std::size_t budget_bytes,
                         std::string_view field);

// The two decoders behind decode_pixels.
decoded_pixels decode_png(std::span<const unsigned char> bytes, int channels,
                          std::size_t budget_bytes);  // stb_image_impl.cpp
decoded_pixels decode_jpeg(std::span<const unsigned char> bytes, int channels,
                           std::size_t budget_bytes, shrink_on_load shrink);  // jpeg_read.cpp

}  // namespace image_gateway::pixel_decode
