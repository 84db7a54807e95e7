#include "image_gateway/image/fit_types.hpp"

#include "image_gateway/util/strings.hpp"

namespace image_gateway {

std::optional<fit_mode> parse_fit(std::string_view text) {
  if (text == "none") return fit_mode::none;
  if (text == "contain") return fit_mode::contain;
  if (text == "cover") return fit_mode::cover;
  return std::nullopt;
}

std::string_view to_string(fit_mode mode) {
  switch (mode) {
    case fit_mode::contain:
      return "contain";
    case fit_mode::cover:
      return "cover";
    case fit_mode::none:
      break;
  }
  return "none";
}

std::optional<rgb> parse_colour(std::string_view text) {
  if (text.size() != 7 || text[0] != '#') return std::nullopt;
  unsigned char channels[3] = {};
  for (int i = 0; i < 3; ++i) {
    const int high = hex_value(text[1 + 2 * i]);
    const int low = hex_value(text[2 + 2 * i]);
    if (high < 0 || low < 0) return std::nullopt;
    channels[i] = static_cast<unsigned char>(high * 16 + low);
  }
  return rgb{channels[0], channels[1], channels[2]};
}

std::string to_hex(rgb colour) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out = "#";
  for (const unsigned char channel : {colour.r, colour.g, colour.b}) {
    out.push_back(digits[channel >> 4]);
    out.push_back(digits[channel & 15U]);
  }
  return out;
}

std::string fit_cache_tag(fit_mode mode, rgb background) {
  switch (mode) {
    case fit_mode::contain:
      return "contain" + to_hex(background);
    case fit_mode::cover:
      return "cover";
    case fit_mode::none:
      break;
  }
  return {};
}

}  // namespace image_gateway
