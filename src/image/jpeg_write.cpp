// JPEG encoding with Debian's libjpeg-turbo: the same file sizes as stb_image_write at the same
// quality, in a sixth to an eighth of the CPU (bench/README.md), which matters most in the
// quality search (up to 8 encodes).
#include <csetjmp>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "pixel_ops.hpp"

// libjpeg's header needs size_t and FILE declared before it.
#include <jpeglib.h>

namespace image_gateway::pixel_ops {

namespace {

struct error_manager {
  jpeg_error_mgr base;
  std::jmp_buf jump;
};

[[noreturn]] void jump_out(j_common_ptr info) {
  std::longjmp(reinterpret_cast<error_manager*>(info->err)->jump, 1);
}

void quiet(j_common_ptr) {}

// libjpeg reports errors through error_exit, here a longjmp: this frame holds no object with a
// destructor between the setjmp and the calls that may jump.
bool encode_into(std::string& out, const unsigned char* pixels, int width, int height,
                 int quality) {
  jpeg_compress_struct info{};
  error_manager errors{};
  info.err = jpeg_std_error(&errors.base);
  errors.base.error_exit = jump_out;
  errors.base.output_message = quiet;
  unsigned char* buffer = nullptr;
  unsigned long size = 0;
  if (setjmp(errors.jump) != 0) {
    jpeg_destroy_compress(&info);
    std::free(buffer);
    return false;
  }
  jpeg_create_compress(&info);
  jpeg_mem_dest(&info, &buffer, &size);
  info.image_width = static_cast<JDIMENSION>(width);
  info.image_height = static_cast<JDIMENSION>(height);
  info.input_components = 3;
  info.in_color_space = JCS_RGB;
  jpeg_set_defaults(&info);
  jpeg_set_quality(&info, quality, TRUE);
  jpeg_start_compress(&info, TRUE);
  const auto stride = static_cast<std::size_t>(width) * 3;
  while (info.next_scanline < info.image_height) {
    // libjpeg's API takes rows as non-const; it only reads them.
    JSAMPROW row = const_cast<unsigned char*>(pixels) + info.next_scanline * stride;
    jpeg_write_scanlines(&info, &row, 1);
  }
  jpeg_finish_compress(&info);
  jpeg_destroy_compress(&info);
  out.assign(reinterpret_cast<const char*>(buffer), size);
  std::free(buffer);
  return true;
}

}  // namespace

std::string encode_jpeg(const unsigned char* pixels, int width, int height, int quality) {
  std::string out;
  if (width <= 0 || height <= 0 || quality < 1 || quality > 100) return out;
  if (!encode_into(out, pixels, width, height, quality)) out.clear();
  return out;
}

}  // namespace image_gateway::pixel_ops
