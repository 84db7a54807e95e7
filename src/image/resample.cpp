// The quality filter of a fit: separable cubic resampling in linear light, colours weighted by
// alpha, edges clamped; Mitchell when shrinking and Catmull-Rom when growing, the filters
// stb_image_resize chooses by default (which this replaced: 2.5 to 3 times slower,
// bench/fit_bench). Input rows are converted to linear light as the output rows need them and kept
// in a ring of as many rows as the vertical filter has taps: the working memory is a few rows,
// never the image.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <new>
#include <vector>

#include "pixel_ops.hpp"
#include "srgb_tables.hpp"

namespace image_gateway::pixel_ops {

namespace {

// The Mitchell-Netravali family of cubics: B = C = 1/3 is Mitchell, B = 0, C = 1/2 Catmull-Rom.
double cubic(double x, double b, double c) {
  x = std::fabs(x);
  if (x < 1) {
    return ((12 - 9 * b - 6 * c) * x * x * x + (-18 + 12 * b + 6 * c) * x * x + (6 - 2 * b)) / 6;
  }
  if (x < 2) {
    return ((-b - 6 * c) * x * x * x + (6 * b + 30 * c) * x * x + (-12 * b - 48 * c) * x +
            (8 * b + 24 * c)) /
           6;
  }
  return 0;
}

// For each output pixel along one axis: the first input pixel it reads, how many, and their
// weights (summing to 1; taps past the edges fold onto the edge pixel).
struct axis_filter {
  int taps = 0;  // room per output pixel; `count` of them are used
  std::vector<int> first;
  std::vector<int> count;
  std::vector<float> weights;  // out_length x taps

  const float* of(std::size_t out) const {
    return weights.data() + out * static_cast<std::size_t>(taps);
  }
};

// The window [start, end) of an axis of in_length pixels (in pixels) onto out_length pixels.
axis_filter make_filter(int in_length, double start, double end, int out_length) {
  const double scale = (end - start) / out_length;  // input pixels per output pixel
  const bool shrinking = scale > 1;
  const double b = shrinking ? 1.0 / 3 : 0.0;
  const double c = shrinking ? 1.0 / 3 : 0.5;
  const double stretch = std::max(scale, 1.0);  // a reduction widens the kernel with it
  const double radius = 2 * stretch;
  axis_filter f;
  f.taps = static_cast<int>(std::floor(2 * radius)) + 2;
  const auto outputs = static_cast<std::size_t>(out_length);
  f.first.resize(outputs);
  f.count.resize(outputs);
  f.weights.assign(outputs * static_cast<std::size_t>(f.taps), 0.0F);
  std::vector<double> sums(static_cast<std::size_t>(f.taps));
  for (int o = 0; o < out_length; ++o) {
    // Pixel i covers [i, i + 1): its centre is i + 0.5, as is the output's.
    const double centre = start + (o + 0.5) * scale;
    const int lo = static_cast<int>(std::ceil(centre - 0.5 - radius));
    const int hi = std::min(static_cast<int>(std::floor(centre - 0.5 + radius)), lo + f.taps - 1);
    const int first = std::clamp(lo, 0, in_length - 1);
    const int last = std::clamp(hi, first, in_length - 1);
    std::fill(sums.begin(), sums.end(), 0.0);
    double total = 0;
    for (int i = lo; i <= hi; ++i) {
      const double w = cubic((i + 0.5 - centre) / stretch, b, c);
      sums[static_cast<std::size_t>(std::clamp(i, first, last) - first)] += w;
      total += w;
    }
    const auto index = static_cast<std::size_t>(o);
    f.first[index] = first;
    f.count[index] = last - first + 1;
    float* weights = f.weights.data() + index * static_cast<std::size_t>(f.taps);
    for (int t = 0; t <= last - first; ++t) {
      weights[t] = static_cast<float>(total != 0 ? sums[static_cast<std::size_t>(t)] / total
                                                 : (t == 0 ? 1.0 : 0.0));
    }
  }
  return f;
}

// Values per pixel while filtering: RGB is padded to four so that a pixel is one vector.
template <int C>
constexpr int lanes = C == 3 ? 4 : C;

// One input row in linear light (alpha-weighted with 4 channels), from pixel `from` on.
template <int C>
void linearize(const unsigned char* row, int from, int length, float* out) {
  const srgb_tables& t = srgb();
  const unsigned char* in = row + static_cast<std::size_t>(from) * C;
  for (int x = 0; x < length; ++x, in += C, out += lanes<C>) {
    if constexpr (C == 4) {
      const float alpha = static_cast<float>(in[3]) * (1.0F / 255.0F);
      out[0] = t.to_linear_float[in[0]] * alpha;
      out[1] = t.to_linear_float[in[1]] * alpha;
      out[2] = t.to_linear_float[in[2]] * alpha;
      out[3] = alpha;
    } else {
      for (int c = 0; c < C; ++c) out[c] = t.to_linear_float[in[c]];
      if constexpr (C == 3) out[3] = 0;
    }
  }
}

// A linear row (starting at input pixel `from`) filtered across into out_width pixels.
template <int C>
void filter_across(const float* __restrict linear, int from, const axis_filter& across,
                   int out_width, float* __restrict out) {
  constexpr int P = lanes<C>;
  for (int x = 0; x < out_width; ++x, out += P) {
    const auto o = static_cast<std::size_t>(x);
    const float* w = across.of(o);
    const float* in = linear + static_cast<std::size_t>(across.first[o] - from) * P;
    const int count = across.count[o];
    if constexpr (P == 4) {  // a pixel is one vector (GCC's and Clang's vector extension)
      using pixel = float __attribute__((vector_size(16)));
      pixel sum = {0, 0, 0, 0};
      for (int t = 0; t < count; ++t, in += P) {
        pixel value;
        std::memcpy(&value, in, sizeof value);
        sum += w[t] * value;
      }
      std::memcpy(out, &sum, sizeof sum);
    } else {
      float sum[P] = {};
      for (int t = 0; t < count; ++t, in += P) {
        for (int c = 0; c < P; ++c) sum[c] += w[t] * in[c];
      }
      for (int c = 0; c < P; ++c) out[c] = sum[c];
    }
  }
}

// sum = the rows weighted, over whole rows of values: four rows a pass, so `sum` is read and
// written once per four rows.
void add_weighted(float* __restrict sum, const float* const* rows, const float* weights, int count,
                  std::size_t values) {
  std::fill(sum, sum + values, 0.0F);
  int t = 0;
  for (; t + 4 <= count; t += 4) {
    const float* __restrict a = rows[t];
    const float* __restrict b = rows[t + 1];
    const float* __restrict c = rows[t + 2];
    const float* __restrict d = rows[t + 3];
    const float wa = weights[t], wb = weights[t + 1], wc = weights[t + 2], wd = weights[t + 3];
    for (std::size_t i = 0; i < values; ++i) {
      sum[i] += wa * a[i] + wb * b[i] + wc * c[i] + wd * d[i];
    }
  }
  for (; t < count; ++t) {
    const float* __restrict a = rows[t];
    const float wa = weights[t];
    for (std::size_t i = 0; i < values; ++i) sum[i] += wa * a[i];
  }
}

unsigned char to_code(const srgb_tables& t, float linear) {
  const float v = std::clamp(linear, 0.0F, 1.0F);
  return t.from_linear[static_cast<std::size_t>(v * 65535.0F + 0.5F)];
}

// A filtered row of linear values back to 8-bit sRGB (alpha, with 4 channels, stays linear).
template <int C>
void to_bytes(const float* row, int width, unsigned char* out) {
  const srgb_tables& t = srgb();
  for (int x = 0; x < width; ++x, row += lanes<C>, out += C) {
    if constexpr (C == 4) {
      const float alpha = std::clamp(row[3], 0.0F, 1.0F);
      const float unweight = alpha > 0 ? 1.0F / alpha : 0.0F;
      for (int c = 0; c < 3; ++c) out[c] = to_code(t, row[c] * unweight);
      out[3] = static_cast<unsigned char>(alpha * 255.0F + 0.5F);
    } else {
      for (int c = 0; c < C; ++c) out[c] = to_code(t, row[c]);
    }
  }
}

template <int C>
void resample(const unsigned char* in, int in_width, int in_height, double s0, double t0, double s1,
              double t1, unsigned char* out, int out_width, int out_height, int out_stride) {
  const axis_filter across = make_filter(in_width, s0 * in_width, s1 * in_width, out_width);
  const axis_filter down = make_filter(in_height, t0 * in_height, t1 * in_height, out_height);
  // The input columns any output pixel reads: only they are converted to linear light.
  const int from = across.first.front();
  const int to = across.first.back() + across.count.back();
  const auto in_stride = static_cast<std::size_t>(in_width) * C;
  const auto span_values = static_cast<std::size_t>(to - from) * lanes<C>;
  // Down first, then across: the downward sums run over whole rows (vectorised), and only the
  // output's rows are filtered across. Input row r, in linear light, lives in ring slot
  // r % down.taps until no output row needs it (the rows output row y reads start at
  // down.first[y], which never decreases).
  std::vector<float> ring(static_cast<std::size_t>(down.taps) * span_values);
  std::vector<float> sum(span_values);
  std::vector<float> row_out(static_cast<std::size_t>(out_width) * lanes<C>);
  std::vector<const float*> rows(static_cast<std::size_t>(down.taps));
  const auto slot = [&](int row) {
    return ring.data() + static_cast<std::size_t>(row % down.taps) * span_values;
  };
  int next_row = down.first.front();  // the next input row to convert
  for (int y = 0; y < out_height; ++y) {
    const auto o = static_cast<std::size_t>(y);
    const int first = down.first[o];
    const int count = down.count[o];
    next_row = std::max(next_row, first);
    for (; next_row < first + count; ++next_row) {
      linearize<C>(in + static_cast<std::size_t>(next_row) * in_stride, from, to - from,
                   slot(next_row));
    }
    for (int t = 0; t < count; ++t) rows[static_cast<std::size_t>(t)] = slot(first + t);
    add_weighted(sum.data(), rows.data(), down.of(o), count, span_values);
    filter_across<C>(sum.data(), from, across, out_width, row_out.data());
    to_bytes<C>(row_out.data(), out_width, out + o * static_cast<std::size_t>(out_stride));
  }
}

}  // namespace

bool resize(const unsigned char* in, int in_width, int in_height, int channels, double s0,
            double t0, double s1, double t1, unsigned char* out, int out_width, int out_height,
            int out_stride) {
  if (in_width <= 0 || in_height <= 0 || out_width <= 0 || out_height <= 0 || !(s1 > s0) ||
      !(t1 > t0)) {
    return false;
  }
  using resampler = void (*)(const unsigned char*, int, int, double, double, double, double,
                             unsigned char*, int, int, int);
  static constexpr resampler by_channels[] = {resample<1>, resample<2>, resample<3>, resample<4>};
  if (channels < 1 || channels > 4) return false;
  try {
    by_channels[channels - 1](in, in_width, in_height, s0, t0, s1, t1, out, out_width, out_height,
                              out_stride);
    return true;
  } catch (const std::bad_alloc&) {
    return false;
  }
}

}  // namespace image_gateway::pixel_ops
