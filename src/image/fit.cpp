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
  for (std::size_t i = 0; i < out.pixels.size(); i += step) {
    std::memcpy(out.pixels.data() + i, fill, step);
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

// The decoded source scaled into a target-sized canvas as plan_fit says.
bool compose(const pixel_decode::decoded_pixels& source, const fit_plan& plan, fit_mode mode,
             canvas& target) {
  const int channels = target.channels;
  if (mode == fit_mode::contain) {
    const auto width = static_cast<int>(plan.scaled_width);
    const auto height = static_cast<int>(plan.scaled_height);
    unsigned char* corner = target.at(plan.x, plan.y);
    if (width == source.width && height == source.height) {  // already the right size
      const std::size_t row = static_cast<std::size_t>(width) * static_cast<std::size_t>(channels);
      for (int y = 0; y < height; ++y) {
        std::memcpy(corner + static_cast<std::size_t>(y) * target.stride(),
                    source.pixels.get() + static_cast<std::size_t>(y) * row, row);
      }
      return true;
    }
    return pixel_ops::resize(source.pixels.get(), source.width, source.height, channels, 0.0, 0.0,
                             1.0, 1.0, corner, width, height, static_cast<int>(target.stride()));
  }
  // cover: the window of the scaled image, as fractions of the source.
  const auto scaled_w = static_cast<double>(plan.scaled_width);
  const auto scaled_h = static_cast<double>(plan.scaled_height);
  const double s0 = static_cast<double>(plan.x) / scaled_w;
  const double t0 = static_cast<double>(plan.y) / scaled_h;
  const double s1 = static_cast<double>(plan.x + target.width) / scaled_w;
  const double t1 = static_cast<double>(plan.y + target.height) / scaled_h;
  if (plan.scaled_width == source.width && plan.scaled_height == source.height) {
    const std::size_t row =
        static_cast<std::size_t>(source.width) * static_cast<std::size_t>(channels);
    for (int y = 0; y < target.height; ++y) {
      std::memcpy(target.at(0, y),
                  source.pixels.get() + static_cast<std::size_t>(y + plan.y) * row +
                      static_cast<std::size_t>(plan.x) * static_cast<std::size_t>(channels),
                  target.stride());
    }
    return true;
  }
  return pixel_ops::resize(source.pixels.get(), source.width, source.height, channels, s0, t0, s1,
                           t1, target.pixels.data(), target.width, target.height,
                           static_cast<int>(target.stride()));
}

}  // namespace

std::size_t fit_decode_budget(int width, int height, std::size_t source_bytes) {
  constexpr std::size_t bytes_per_pixel = 24;
  constexpr std::size_t state = 8 * 1024 * 1024;
  const std::size_t pixels = saturating_mul(static_cast<std::size_t>(std::max(width, 0)),
                                            static_cast<std::size_t>(std::max(height, 0)));
  return saturating_add(
      saturating_add(saturating_mul(pixels, bytes_per_pixel), saturating_mul(source_bytes, 2)),
      state);
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

  // Decode: RGBA for a PNG (any transparency, palette or tRNS included, shows in the alpha),
  // RGB for a JPEG.
  const std::size_t budget = fit_decode_budget(facts.width, facts.height, source.size());
  const int decode_channels = facts.format == image_format::png ? 4 : 3;
  pixel_decode::decoded_pixels decoded =
      pixel_decode::decode_pixels(bytes, decode_channels, budget);
  if (!decoded.pixels) return pixel_decode::decode_failure(decoded, budget, field);
  const std::size_t count =
      static_cast<std::size_t>(decoded.width) * static_cast<std::size_t>(decoded.height);
  if (decoded.channels == 4 && !has_transparency(decoded.pixels.get(), count)) {
    drop_alpha(decoded.pixels.get(), count);
    decoded.channels = 3;
  }

  const fit_plan plan =
      plan_fit(decoded.width, decoded.height, target.width, target.height, options.mode);
  // contain leaves bars of the background; cover's picture covers every pixel, so its canvas
  // needs no fill.
  canvas fitted =
      options.mode == fit_mode::contain
          ? blank_canvas(target.width, target.height, decoded.channels, options.background)
          : sized_canvas(target.width, target.height, decoded.channels);
  if (!compose(decoded, plan, options.mode, fitted)) {
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
