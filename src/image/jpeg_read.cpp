// JPEG decoding with Debian's libjpeg-turbo, under the same memory budget as stb's PNG decodes.
// libjpeg reports errors through error_exit, here a longjmp: decode_into's frame holds no object
// with a destructor between the setjmp and the calls that may jump.
#include <algorithm>
#include <csetjmp>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <limits>

#include "image_gateway/image/fit_geometry.hpp"
#include "pixel_decode.hpp"

// libjpeg's header needs size_t and FILE declared before it.
#include <jerror.h>
#include <jpeglib.h>

namespace image_gateway::pixel_decode {

namespace {

struct error_manager {
  jpeg_error_mgr base;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
  bool over_budget;
};

[[noreturn]] void jump_out(j_common_ptr info) {
  auto* errors = reinterpret_cast<error_manager*>(info->err);
  (*info->err->format_message)(info, errors->message);
  const int code = info->err->msg_code;
  errors->over_budget = code == JERR_NO_BACKING_STORE || code == JERR_OUT_OF_MEMORY;
  std::longjmp(errors->jump, 1);
}

// Warnings that mean pixels were lost (data cut short or corrupt) fail the decode: libjpeg would
// make up grey blocks, and the gateway never passes on a picture the decoder had to invent. The
// end of the file alone (JWRN_JPEG_EOF) is not such a loss: the bit reader reads ahead, so a
// complete file without its end marker meets it too; a file cut short then also hits that end
// while bits are still owed, which is JWRN_HIT_MARKER.
// Oddities that lose nothing (extraneous bytes before a marker, an unknown JFIF revision, a bad
// ICC marker, an odd progression) are tolerated, as every viewer tolerates them. (Arithmetic
// coding never gets here: stb's header reader, which every image passes first, refuses it.)
bool loses_pixels(int code) {
  switch (code) {
    case JWRN_HIT_MARKER:
    case JWRN_HUFF_BAD_CODE:
    case JWRN_MUST_RESYNC:
    case JWRN_NOT_SEQUENTIAL:
      return true;
    default:
      return false;
  }
}

void on_message(j_common_ptr info, int level) {
  if (level < 0 && loses_pixels(info->err->msg_code)) jump_out(info);
}

std::size_t round_up(std::size_t value, std::size_t multiple) {
  return (value + multiple - 1) / multiple * multiple;
}

// The whole-image coefficient buffer libjpeg keeps for a progressive or non-interleaved file
// (every scan must be read before any row is output); zero for a single interleaved scan.
std::size_t coefficient_bytes(const jpeg_decompress_struct& info) {
  if (!info.progressive_mode && info.comps_in_scan >= info.num_components) return 0;
  std::size_t total = 0;
  for (int c = 0; c < info.num_components; ++c) {
    const jpeg_component_info& component = info.comp_info[c];
    total +=
        round_up(component.width_in_blocks, static_cast<std::size_t>(component.h_samp_factor)) *
        round_up(component.height_in_blocks, static_cast<std::size_t>(component.v_samp_factor)) *
        DCTSIZE2 * sizeof(JCOEF);
  }
  return total;
}

struct raw_pixels {
  unsigned char* pixels = nullptr;  // malloc'ed
  int width = 0;
  int height = 0;
  int components = 0;
  int scale_eighths = 8;
  bool cmyk = false;  // Adobe CMYK as stored (inverted), to be converted by the caller
};

// Channels 0 (verification) takes libjpeg's default output; 3 and 4 ask for RGB or RGBA, and
// CMYK files then come out as CMYK, converted by the caller. (Verifying in the file's own
// colour space, or with the fast IDCT, was no faster: bench/fit_bench.) The budget is checked
// on the output at the chosen scale, from libjpeg's own reading of the header, so a file whose
// header says something else to stb's reader is still held to it.
bool decode_into(std::span<const unsigned char> bytes, int channels, std::size_t budget_bytes,
                 shrink_on_load shrink, error_manager& errors, raw_pixels& out) {
  jpeg_decompress_struct info{};
  info.err = jpeg_std_error(&errors.base);
  errors.base.error_exit = jump_out;
  errors.base.emit_message = on_message;
  unsigned char* volatile pixels = nullptr;  // volatile: read after a longjmp
  if (setjmp(errors.jump) != 0) {
    jpeg_destroy_decompress(&info);
    std::free(pixels);
    return false;
  }
  jpeg_create_decompress(&info);
  jpeg_mem_src(&info, bytes.data(), static_cast<unsigned long>(bytes.size()));
  if (jpeg_read_header(&info, TRUE) != JPEG_HEADER_OK) ERREXIT(&info, JERR_NO_IMAGE);

  const bool cmyk = info.jpeg_color_space == JCS_CMYK || info.jpeg_color_space == JCS_YCCK;
  if (channels == 0) {
    // libjpeg's own choice: grey stays grey, YCbCr becomes RGB, CMYK and YCCK become CMYK.
  } else if (cmyk) {
    info.out_color_space = JCS_CMYK;
  } else {
    info.out_color_space = channels == 4 ? JCS_EXT_RGBA : JCS_RGB;
  }
  if (shrink.min_width > 0 && shrink.min_height > 0 && info.image_width > 0 &&
      info.image_height > 0) {
    info.scale_num = static_cast<unsigned>(jpeg_scale_eighths(static_cast<int>(info.image_width),
                                                              static_cast<int>(info.image_height),
                                                              shrink.min_width, shrink.min_height));
    info.scale_denom = 8;
  }
  jpeg_calc_output_dimensions(&info);

  const std::size_t row_bytes = static_cast<std::size_t>(info.output_width) *
                                static_cast<std::size_t>(info.out_color_components);
  const std::size_t image_bytes = row_bytes * info.output_height;
  const std::size_t coefficients = coefficient_bytes(info);
  if (image_bytes > budget_bytes || coefficients > budget_bytes - image_bytes) {
    errors.over_budget = true;
    jpeg_destroy_decompress(&info);
    return false;
  }
  // What libjpeg itself may allocate (its buffers and the coefficients) besides our pixels.
  info.mem->max_memory_to_use = static_cast<long>(std::min<std::size_t>(
      budget_bytes - image_bytes, static_cast<std::size_t>(std::numeric_limits<long>::max())));
  pixels = static_cast<unsigned char*>(std::malloc(image_bytes == 0 ? 1 : image_bytes));
  if (pixels == nullptr) ERREXIT1(&info, JERR_OUT_OF_MEMORY, 0);

  jpeg_start_decompress(&info);
  while (info.output_scanline < info.output_height) {
    JSAMPROW row = pixels + static_cast<std::size_t>(info.output_scanline) * row_bytes;
    jpeg_read_scanlines(&info, &row, 1);
  }
  // Every row is out: the rest of the file (to EOI) cannot change a pixel, so it is not read
  // (no jpeg_finish_decompress).
  out = {pixels,
         static_cast<int>(info.output_width),
         static_cast<int>(info.output_height),
         info.out_color_components,
         static_cast<int>(info.scale_num * 8 / info.scale_denom),
         cmyk && channels != 0};
  jpeg_destroy_decompress(&info);
  return true;
}

// Adobe CMYK as libjpeg hands it over (inverted: 255 is no ink) to RGB or RGBA in place, as stb
// converts it: each colour is its stored value times the stored K, over 255.
void cmyk_to_rgb(unsigned char* pixels, std::size_t count, int channels) {
  for (std::size_t i = 0; i < count; ++i) {
    const unsigned char* in = pixels + i * 4;
    const unsigned k = in[3];
    unsigned char* target = pixels + i * static_cast<std::size_t>(channels);
    const unsigned char r = static_cast<unsigned char>((in[0] * k + 127) / 255);
    const unsigned char g = static_cast<unsigned char>((in[1] * k + 127) / 255);
    const unsigned char b = static_cast<unsigned char>((in[2] * k + 127) / 255);
    target[0] = r;
    target[1] = g;
    target[2] = b;
    if (channels == 4) target[3] = 255;
  }
}

void release(void* pixels) { std::free(pixels); }

}  // namespace

decoded_pixels decode_jpeg(std::span<const unsigned char> bytes, int channels,
                           std::size_t budget_bytes, shrink_on_load shrink) {
  decoded_pixels result;
  error_manager errors{};
  raw_pixels raw;
  if (!decode_into(bytes, channels, budget_bytes, shrink, errors, raw)) {
    result.over_budget = errors.over_budget;
    result.why = errors.message[0] != '\0' ? errors.message : "over budget";
    return result;
  }
  if (raw.cmyk) {
    cmyk_to_rgb(raw.pixels,
                static_cast<std::size_t>(raw.width) * static_cast<std::size_t>(raw.height),
                channels);
    raw.components = channels;
  }
  result.pixels = pixel_buffer(raw.pixels, pixel_deleter{release});
  result.width = raw.width;
  result.height = raw.height;
  result.channels = raw.components;
  result.scale_eighths = raw.scale_eighths;
  return result;
}

}  // namespace image_gateway::pixel_decode
