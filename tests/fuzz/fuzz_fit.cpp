// libFuzzer target: the fit path (issue 12), decode -> scale -> place or crop -> encode, on
// arbitrary bytes. The first byte chooses the mode, the target size, the byte limit and the
// background; the rest is the source. Caps are small so each run stays fast; what comes out must
// be exactly what OPPO takes.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "image_gateway/image/fit.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace image_gateway;
  if (size < 1) return 0;
  const unsigned control = data[0];
  auto source =
      std::make_shared<const std::string>(reinterpret_cast<const char*>(data) + 1, size - 1);
  const fit_mode mode = (control & 1U) != 0 ? fit_mode::contain : fit_mode::cover;
  const image_rule target{1 + static_cast<int>((control >> 1) & 7U) * 37,
                          1 + static_cast<int>((control >> 4) & 7U) * 23,
                          (control & 0x80U) != 0 ? std::size_t{600} : std::size_t{51200}};
  const rgb background{static_cast<unsigned char>(control), 0, 255};
  fit_limits limits;
  limits.max_source_bytes = 65536;
  limits.max_source_pixels = 512 * 512;

  auto fitted = fit_image(source, target, {mode, background}, limits, "big_picture_url");
  if (!fitted.ok()) return 0;
  const fitted_image& out = fitted.value();
  const std::span bytes(reinterpret_cast<const unsigned char*>(out.bytes.data()), out.bytes.size());
  // The result passes OPPO's own checks: format, exact size, byte limit, and (when the gateway
  // encoded it) it decodes.
  const auto facts = inspect_image(bytes, target, "fitted");
  if (!facts.ok() || facts.value().format != out.format) __builtin_trap();
  if (out.width != target.width || out.height != target.height) __builtin_trap();
  if (out.fitted && verify_decode(bytes, "fitted").has_value()) __builtin_trap();
  if (!out.fitted && out.bytes != source) __builtin_trap();
  return 0;
}
