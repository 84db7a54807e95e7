#include "image_gateway/image/fit_geometry.hpp"

#include <algorithm>

namespace image_gateway {

namespace {

using wide = unsigned long long;  // products of two ints fit, doubled too (< 2^63)

// round(length * numerator / denominator), at least 1.
long long scale_rounded(int length, int numerator, int denominator) {
  const wide twice = 2ULL * static_cast<wide>(length) * static_cast<wide>(numerator);
  const wide rounded =
      (twice + static_cast<wide>(denominator)) / (2ULL * static_cast<wide>(denominator));
  return std::max(1LL, static_cast<long long>(rounded));
}

}  // namespace

fit_plan plan_fit(int source_width, int source_height, int target_width, int target_height,
                  fit_mode mode) {
  fit_plan plan;
  if (mode == fit_mode::none) {
    plan.scaled_width = source_width;
    plan.scaled_height = source_height;
    return plan;
  }
  // Relatively at least as wide as the target: source_w / source_h >= target_w / target_h.
  const bool wider = static_cast<wide>(source_width) * static_cast<wide>(target_height) >=
                     static_cast<wide>(source_height) * static_cast<wide>(target_width);
  if (mode == fit_mode::contain) {
    if (wider) {
      plan.scaled_width = target_width;
      plan.scaled_height = std::min<long long>(
          target_height, scale_rounded(source_height, target_width, source_width));
    } else {
      plan.scaled_height = target_height;
      plan.scaled_width = std::min<long long>(
          target_width, scale_rounded(source_width, target_height, source_height));
    }
    plan.x = (target_width - plan.scaled_width) / 2;
    plan.y = (target_height - plan.scaled_height) / 2;
    return plan;
  }
  if (wider) {
    plan.scaled_height = target_height;
    plan.scaled_width = std::max<long long>(
        target_width, scale_rounded(source_width, target_height, source_height));
  } else {
    plan.scaled_width = target_width;
    plan.scaled_height = std::max<long long>(
        target_height, scale_rounded(source_height, target_width, source_width));
  }
  plan.x = (plan.scaled_width - target_width) / 2;
  plan.y = (plan.scaled_height - target_height) / 2;
  return plan;
}

int jpeg_scale_eighths(int width, int height, long long min_width, long long min_height) {
  for (int eighths = 1; eighths < 8; ++eighths) {
    const auto scaled = [eighths](int side) {
      return static_cast<long long>((static_cast<wide>(side) * static_cast<wide>(eighths) + 7) / 8);
    };
    if (scaled(width) >= min_width && scaled(height) >= min_height) return eighths;
  }
  return 8;
}

int box_reduction_factor(int width, int height, long long min_width, long long min_height) {
  // floor(side / k) >= min is enough for ceil(side / k) >= min, and never gives less than
  // k = 1 would.
  const long long factor =
      std::min(width / std::max(1LL, min_width), height / std::max(1LL, min_height));
  return static_cast<int>(std::max(1LL, factor));
}

}  // namespace image_gateway
