// libFuzzer target: the request body as a caller sends it, through JSON and field validation.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "image_gateway/api/image_request.hpp"
#include "image_gateway/fetch/url_policy.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace image_gateway;
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  const auto parsed = parse_image_request(body);
  if (!parsed.ok()) return 0;
  // Whatever was accepted must be at least one URL that the URL policy accepts on its own.
  const auto& request = parsed.value();
  if (!request.big_url && !request.small_url) __builtin_trap();
  for (const image_kind kind : all_image_kinds) {
    if (request.url(kind) && url_refusal(*request.url(kind))) __builtin_trap();
  }
  return 0;
}
