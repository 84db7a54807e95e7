#include "image_gateway/image/fit.hpp"

#include <algorithm>
#include <cstring>
#include <limits>
#include <span>
#include <vector>

#include "image_gateway/image/fit_geometry.hpp"
#include "pixel_decode.hpp"
#include "pixel_ops.hpp"

namespace image_gateway {

namespace {

constexpr int min_jpeg_quality = 1;
constexpr int max_jpeg_quality = 100;

api_error error(error_kind kind, std::string_view field, const std::string& detail) {
  return api_error{kind, std::string(field) + ": " + detail, std::nullopt};
}

std::size_t saturating_add(std::size_t a, std::size_t b) {
  return a > std::numeric_limits<std::size_t>::max() - b ? std::numeric_limits<std::size_t>::max()
                                                         : a + b;
}

std::size_t saturating_mul(std::size_t a, std::size_t b) {
  if (a != 0 && b > std::numeric_limits<std::size_t>::max() / a) {
    return std::numeric_limits<std::size_t>::max();
  }
  return a * b;
}

// Pixels in memory: width * height * channels bytes, rows top to bottom.
struct canvas {
  int width = 0;
  int height = 0;
  int channels = 0;
  std::vector<unsigned char> pixels;

  std::size_t stride() const {
    return static_cast<std::size_t>(width) * static_cast<std::size_t>(channels);
  }
  unsigned char* at(long long x, long long y) {
    return pixels.data() + static_cast<std::size_t>(y) * stride() +
           static_cast<std::size_t>(x) * static_cast<std::size_t>(channels);
  }
};

bool has_transparency(const unsigned char* rgba, std::size_t pixels) {
  for (std::size_t i = 0; i < pixels; ++i) {
    if (rgba[i * 4 + 3] != 255) return true;
  }
  return false;
}

// RGBA to RGB in the same buffer (each pixel moves left, never over one not yet read).
void drop_alpha(unsigned char* pixels, std::size_t count) {
  for (std::size_t i = 0; i < count; ++i) {
    pixels[i * 3] = pixels[i * 4];
    pixels[i * 3 + 1] = pixels[i * 4 + 1];
    pixels[i * 3 + 2] = pixels[i * 4 + 2];
  }
}

canvas sized_canvas(int width, int height, int channels) {
  canvas out{width, height, channels, {}};
  out.pixels.resize(out.stride() * static_cast<std::size_t>(height));
  return out;
}

// Every pixel the background (alpha 0, clear, with 4 channels): contain's bars.
canvas blank_canvas(int width, int height, int channels, rgb background) {
  canvas out = sized_canvas(width, height, channels);
  const unsigned char fill[4] = {background.r, background.g, background.b, 0};
  const auto step = static_cast<std::size_t>(channels);
  const std::size_t row = out.stride();
  if (row == 0 || height == 0) return out;
  // The first row a pixel at a time, the others copied from it.
  for (std::size_t i = 0; i < row; i += step) {
    for (std::size_t c = 0; c < step; ++c) out.pixels[i + c] = fill[c];
  }
  for (std::size_t y = 1; y < static_cast<std::size_t>(height); ++y) {
    std::memcpy(out.pixels.data() + y * row, out.pixels.data(), row);
  }
  return out;
}

// RGBA composited over an opaque background, as RGB (for the JPEG fallback of a PNG).
std::vector<unsigned char> flatten(const canvas& image, rgb background) {
  const std::size_t count =
      static_cast<std::size_t>(image.width) * static_cast<std::size_t>(image.height);
  std::vector<unsigned char> out(count * 3);
  const unsigned back[3] = {background.r, background.g, background.b};
  for (std::size_t i = 0; i < count; ++i) {
    const unsigned alpha = image.pixels[i * 4 + 3];
    for (std::size_t c = 0; c < 3; ++c) {
      const unsigned front = image.pixels[i * 4 + c];
      out[i * 3 + c] =
          static_cast<unsigned char>((front * alpha + back[c] * (255 - alpha) + 127) / 255);
    }
  }
  return out;
}

// The decoded source scaled into a target-sized canvas as `plan` (made for the source's full
// width x height) says. The decoder may have shrunk it on load: each decoded pixel stands for
// `source_per_pixel` source pixels (8 / M at a JPEG's DCT scale M/8, k after a box reduction by
// k; the last row and column may stand for fewer, hence the fractions below).
bool compose(const pixel_decode::decoded_pixels& source, double source_per_pixel, int full_width,
             int full_height, const fit_plan& plan, fit_mode mode, canvas& target) {
  const int channels = target.channels;
  // The window of the scaled image that lands on the canvas, and where: contain shows all of it
  // at (plan.x, plan.y), cover a target-sized window from (plan.x, plan.y) at (0, 0).
  const bool contain = mode == fit_mode::contain;
  const long long window_x = contain ? 0 : plan.x;
  const long long window_y = contain ? 0 : plan.y;
  const long long window_width = contain ? plan.scaled_width : target.width;
  const long long window_height = contain ? plan.scaled_height : target.height;
  unsigned char* corner = contain ? target.at(plan.x, plan.y) : target.at(0, 0);
  if (plan.scaled_width == source.width && plan.scaled_height == source.height) {  // no scaling
    const std::size_t row =
        static_cast<std::size_t>(source.width) * static_cast<std::size_t>(channels);
    const std::size_t length =
        static_cast<std::size_t>(window_width) * static_cast<std::size_t>(channels);
    for (long long y = 0; y < window_height; ++y) {
      std::memcpy(corner + static_cast<std::size_t>(y) * target.stride(),
                  source.pixels.get() + static_cast<std::size_t>(y + window_y) * row +
                      static_cast<std::size_t>(window_x) * static_cast<std::size_t>(channels),
                  length);
    }
    return true;
  }
  // The window as fractions of the decoded image: of the scaled image, times the share of the
  // decoded image the source covers (1 for a full decode).
  const double cover_x = full_width / (source_per_pixel * source.width);
  const double cover_y = full_height / (source_per_pixel * source.height);
  const auto scaled_w = static_cast<double>(plan.scaled_width);
  const auto scaled_h = static_cast<double>(plan.scaled_height);
  const double s0 = static_cast<double>(window_x) / scaled_w * cover_x;
  const double t0 = static_cast<double>(window_y) / scaled_h * cover_y;
  const double s1 =
      std::min(1.0, static_cast<double>(window_x + window_width) / scaled_w * cover_x);
  const double t1 =
      std::min(1.0, static_cast<double>(window_y + window_height) / scaled_h * cover_y);
  return pixel_ops::resize(source.pixels.get(), source.width, source.height, channels, s0, t0, s1,
                           t1, corner, static_cast<int>(window_width),
                           static_cast<int>(window_height), static_cast<int>(target.stride()));
}

// Shrink-on-load leaves the final filter at least this factor of reduction (1: the decoder may
// go down to the scaled size itself).
constexpr long long shrink_margin = 2;

}  // namespace

std::size_t fit_decode_budget(image_format format, int width, int height, std::size_t source_bytes,
                              long long decoded_width, long long decoded_height) {
  constexpr std::size_t state = 8 * 1024 * 1024;
  const auto side = [](long long length) {
    return static_cast<std::size_t>(std::max(length, 0LL));
  };
  const std::size_t pixels = saturating_mul(side(width), side(height));
  std::size_t need = 0;
  if (format == image_format::png) {
    constexpr std::size_t png_bytes_per_pixel = 28;
    need = saturating_add(saturating_mul(pixels, png_bytes_per_pixel),
                          saturating_mul(source_bytes, 2));
  } else {
    constexpr std::size_t decoded_bytes_per_pixel = 4;
    constexpr std::size_t coefficient_bytes_per_pixel = 8;
    need = saturating_add(saturating_mul(saturating_mul(side(decoded_width), side(decoded_height)),
                                         decoded_bytes_per_pixel),
                          saturating_mul(pixels, coefficient_bytes_per_pixel));
  }
  return saturating_add(need, state);
}

std::optional<quality_choice> highest_fitting_quality(
    int low, int high, std::size_t max_bytes, const std::function<std::string(int)>& encode) {
  if (low > high) return std::nullopt;
  std::string first = encode(high);
  if (!first.empty() && first.size() <= max_bytes) return quality_choice{high, std::move(first)};
  std::optional<quality_choice> best;
  int lo = low;
  int hi = high - 1;
  while (lo <= hi) {
    const int mid = lo + (hi - lo) / 2;
    std::string bytes = encode(mid);
    if (!bytes.empty() && bytes.size() <= max_bytes) {
      best = quality_choice{mid, std::move(bytes)};
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return best;
}

namespace {

// fit_image after inspect_fit_source passed (steps 2 and 3).
result<fitted_image> fit_inspected(shared_bytes source, const image_facts& facts,
                                   const image_rule& target, const fit_options& options,
                                   std::string_view field) {
  const std::span bytes(reinterpret_cast<const unsigned char*>(source.data()), source.size());
  if (facts.width == target.width && facts.height == target.height &&
      source.size() <= target.max_bytes) {
    return fitted_image{std::move(source), facts.format, facts.width, facts.height, false, 0};
  }
  if (auto problem = decode_precheck(bytes, field)) return std::move(*problem);

  // What the fit needs of the source: the scaled size (the whole of it for contain, the part
  // cover crops from it included, so the final filter only ever shrinks).
  const fit_plan plan =
      plan_fit(facts.width, facts.height, target.width, target.height, options.mode);
  pixel_decode::shrink_on_load shrink;
  if (options.shrink_on_load) {
    shrink = {plan.scaled_width * shrink_margin, plan.scaled_height * shrink_margin};
  }
  // Decode: RGBA for a PNG (any transparency, palette or tRNS included, shows in the alpha),
  // RGB for a JPEG, which libjpeg-turbo may scale down in the DCT.
  const bool is_png = facts.format == image_format::png;
  long long decoded_width = facts.width;
  long long decoded_height = facts.height;
  if (!is_png && options.shrink_on_load) {
    const int eighths =
        jpeg_scale_eighths(facts.width, facts.height, shrink.min_width, shrink.min_height);
    decoded_width = (decoded_width * eighths + 7) / 8;
    decoded_height = (decoded_height * eighths + 7) / 8;
  }
  const std::size_t budget = fit_decode_budget(facts.format, facts.width, facts.height,
                                               source.size(), decoded_width, decoded_height);
  pixel_decode::decoded_pixels decoded =
      pixel_decode::decode_pixels(bytes, is_png ? 4 : 3, budget, shrink);
  if (!decoded.pixels) return pixel_decode::decode_failure(decoded, budget, field);
  // The decoder read the same header stb's reader did; should they ever differ, the geometry
  // below (planned on stb's reading) would not fit the pixels.
  const auto scaled_side = [&](int side) {
    return (static_cast<long long>(side) * decoded.scale_eighths + 7) / 8;
  };
  if (decoded.width != scaled_side(facts.width) || decoded.height != scaled_side(facts.height)) {
    return error(error_kind::image_undecodable, field,
                 "image does not decode (its data is not the size its header says)");
  }
  double source_per_pixel = 8.0 / decoded.scale_eighths;
  bool transparent = false;
  const int box =
      options.shrink_on_load && is_png
          ? box_reduction_factor(decoded.width, decoded.height, shrink.min_width, shrink.min_height)
          : 1;
  if (box > 1) {
    transparent = pixel_ops::box_reduce(decoded.pixels.get(), decoded.width, decoded.height,
                                        decoded.channels, box);
    decoded.width = (decoded.width + box - 1) / box;
    decoded.height = (decoded.height + box - 1) / box;
    source_per_pixel = box;
  } else if (decoded.channels == 4) {
    transparent =
        has_transparency(decoded.pixels.get(), static_cast<std::size_t>(decoded.width) *
                                                   static_cast<std::size_t>(decoded.height));
  }
  if (decoded.channels == 4 && !transparent) {
    drop_alpha(decoded.pixels.get(),
               static_cast<std::size_t>(decoded.width) * static_cast<std::size_t>(decoded.height));
    decoded.channels = 3;
  }

  // contain leaves bars of the background; cover's picture covers every pixel, so its canvas
  // needs no fill.
  canvas fitted =
      options.mode == fit_mode::contain
          ? blank_canvas(target.width, target.height, decoded.channels, options.background)
          : sized_canvas(target.width, target.height, decoded.channels);
  if (!compose(decoded, source_per_pixel, facts.width, facts.height, plan, options.mode, fitted)) {
    return error(error_kind::image_undecodable, field, "image could not be scaled (out of memory)");
  }
  decoded.pixels.reset();  // the source's pixels are no longer needed while encoding

  if (facts.format == image_format::png) {
    std::string png =
        pixel_ops::encode_png(fitted.pixels.data(), fitted.width, fitted.height, fitted.channels);
    if (!png.empty() && png.size() <= target.max_bytes) {
      return fitted_image{std::make_shared<const std::string>(std::move(png)),
                          image_format::png,
                          target.width,
                          target.height,
                          true,
                          0};
    }
  }
  const std::vector<unsigned char> rgb_pixels =
      fitted.channels == 4 ? flatten(fitted, options.background) : std::move(fitted.pixels);
  auto chosen = highest_fitting_quality(
      min_jpeg_quality, max_jpeg_quality, target.max_bytes, [&](int quality) {
        return pixel_ops::encode_jpeg(rgb_pixels.data(), target.width, target.height, quality);
      });
  if (!chosen) {
    return error(error_kind::image_too_large, field,
                 "fitted to " + std::to_string(target.width) + "x" + std::to_string(target.height) +
                     " px, the image does not fit in " + std::to_string(target.max_bytes) +
                     " bytes even as a JPEG at quality " + std::to_string(min_jpeg_quality));
  }
  return fitted_image{std::make_shared<const std::string>(std::move(chosen->bytes)),
                      image_format::jpeg,
                      target.width,
                      target.height,
                      true,
                      chosen->quality};
}

}  // namespace

result<fitted_image> fit_image(shared_bytes source, const image_rule& target,
                               const fit_options& options, const fit_limits& limits,
                               std::string_view field) {
  const std::span bytes(reinterpret_cast<const unsigned char*>(source.data()), source.size());
  auto inspected = inspect_fit_source(bytes, limits, field);
  if (!inspected) return inspected.take_error();
  return fit_inspected(std::move(source), inspected.value(), target, options, field);
}

result<fitted_image> prepare_upload(shared_bytes source, const image_rule& target,
                                    const fit_options& options, const fit_limits& limits,
                                    bool verify, std::string_view field) {
  const std::span bytes(reinterpret_cast<const unsigned char*>(source.data()), source.size());
  auto facts = options.mode == fit_mode::none ? inspect_image(bytes, target, field)
                                              : inspect_fit_source(bytes, limits, field);
  if (!facts) return facts.take_error();
  return prepare_inspected(std::move(source), facts.value(), target, options, verify, field);
}

result<fitted_image> prepare_inspected(shared_bytes source, const image_facts& facts,
                                       const image_rule& target, const fit_options& options,
                                       bool verify, std::string_view field) {
  if (options.mode == fit_mode::none) {
    if (verify) {
      if (auto problem = verify_decode(source.span(), field)) return std::move(*problem);
    }
    return fitted_image{std::move(source), facts.format, facts.width, facts.height, false, 0};
  }
  auto fitted = fit_inspected(std::move(source), facts, target, options, field);
  if (fitted && !fitted.value().fitted && verify) {
    if (auto problem = verify_decode(fitted.value().bytes.span(), field)) {
      return std::move(*problem);
    }
  }
  return fitted;
}

}  // namespace image_gateway
