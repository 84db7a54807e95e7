#pragma once
// Fitting a picture to OPPO's size (docs/fitting.md): bytes in, the bytes
// to upload out. Pure (no I/O, no shared state) and CPU-heavy: run it on the decode pool, never
// on an I/O thread. The JSON and multipart paths, the upload and the dry run all call this.
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "image_gateway/domain/error.hpp"
#include "image_gateway/image/fit_types.hpp"
#include "image_gateway/image/image_check.hpp"
#include "image_gateway/util/shared_bytes.hpp"

namespace image_gateway {

struct fit_options {
  fit_mode mode = fit_mode::none;
  rgb background = white;  // contain's bars (and what a transparent PNG is flattened on as JPEG)
  // Decode no more pixels than the fit needs (a JPEG at a smaller DCT scale, a PNG box-reduced
  // before the final filter). false decodes and filters every pixel: the reference the quality
  // comparison (tests, bench/fit_bench) measures shrink-on-load against.
  bool shrink_on_load = true;
};

// What would be uploaded.
struct fitted_image {
  shared_bytes bytes;  // the source itself when !fitted
  image_format format = image_format::png;
  int width = 0;
  int height = 0;
  bool fitted = false;   // the bytes are the gateway's own encoding, not the source's
  int jpeg_quality = 0;  // the quality chosen when the gateway encoded a JPEG, else 0
};

// The most memory decoding a width x height source of `source_bytes` bytes for a fit may
// allocate, 8 MiB for decoder state and padding included. Saturates instead of overflowing.
//  - PNG (stb_image decodes every pixel, whatever the target): 28 bytes a pixel and twice the
//    file. The worst PNG, 16-bit interlaced RGBA, holds at once its inflated data (8 bytes a
//    pixel, in a buffer stb doubles once because interlaced rows carry more filter bytes than
//    its first guess: 16), the whole 16-bit image (8) and its largest pass (4); stb gathers the
//    compressed data in a buffer that doubles (twice the file).
//  - JPEG decoded to decoded_width x decoded_height (shrink-on-load; the source's own size for
//    a full decode): 4 bytes a decoded pixel (RGBA or CMYK) and 8 bytes a source pixel (a
//    progressive file's coefficients, 2 bytes each, 64 per 8x8 block of each of at most 4
//    components, are kept whole at every scale).
std::size_t fit_decode_budget(image_format format, int width, int height, std::size_t source_bytes,
                              long long decoded_width, long long decoded_height);

// The whole fit, with options.mode contain or cover (none is the caller's business):
//  1. inspect_fit_source (caps before any allocation);
//  2. a source of exactly the target's size within target.max_bytes is returned as it came
//     (fitted false; it has not been decoded: verify_decode it as any unfitted image);
//  3. otherwise decode under fit_decode_budget (image_undecodable, "... (it needs more than N
//     bytes of memory)" for a decompression bomb) with shrink-on-load (a JPEG at the smallest
//     DCT scale, a PNG box-reduced by the largest integer factor, that leave at least the
//     scaled size plan_fit asks for), scale and place (contain) or crop (cover) per plan_fit, and
//     encode in the source's format: PNG (RGBA when the source has any transparency, bars then
//     transparent) or JPEG at the highest quality that fits. A PNG over target.max_bytes becomes a
//     JPEG at the highest quality that fits (transparency flattened on options.background); when
//     not even quality 1 fits, image_too_large.
// Every error is 51's kind, its detail prefixed by `field`.
result<fitted_image> fit_image(shared_bytes source, const image_rule& target,
                               const fit_options& options, const fit_limits& limits,
                               std::string_view field);

// Everything between the header checks and the upload (the decode pool's work for one image),
// for the upload and the dry run alike. Fit none: inspect_image, then verify_decode when
// `verify`; the source goes as it came. Contain or cover: fit_image, then verify_decode of a
// source it passed through untouched, when `verify`.
result<fitted_image> prepare_upload(shared_bytes source, const image_rule& target,
                                    const fit_options& options, const fit_limits& limits,
                                    bool verify, std::string_view field);

// prepare_upload for a source whose header the caller has already read from these same bytes
// (`facts`: inspect_image's with fit none, inspect_fit_source's with a fit), so no header is
// read twice; the gateway inspects on the I/O thread and prepares on the decode pool.
result<fitted_image> prepare_inspected(shared_bytes source, const image_facts& facts,
                                       const image_rule& target, const fit_options& options,
                                       bool verify, std::string_view field);

// The highest quality in [low, high] whose encoding is at most max_bytes, assuming the size
// grows with the quality: `high` first (usually it fits), then a binary search below it.
// nullopt when `low` does not fit either.
struct quality_choice {
  int quality = 0;
  std::string bytes;
};
std::optional<quality_choice> highest_fitting_quality(
    int low, int high, std::size_t max_bytes, const std::function<std::string(int)>& encode);

}  // namespace image_gateway
