// libFuzzer target: the image gate on arbitrary bytes, as the fetcher hands them over.
#include <cstddef>
#include <cstdint>
#include <span>

#include "image_gateway/image/image_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace image_gateway;
  const std::span<const unsigned char> bytes(data, size);
  const auto format = sniff_format(bytes);
  const image_rule big{984, 369, 1048576};
  const image_rule small{144, 144, 51200};
  const auto big_facts = inspect_image(bytes, big, "big_picture_url");
  const auto small_facts = inspect_image(bytes, small, "small_picture_url");
  // What passed inspection must have the format its magic bytes say.
  if (big_facts.ok() && (!format || big_facts.value().format != *format)) __builtin_trap();
  if (small_facts.ok() && (!format || small_facts.value().format != *format)) __builtin_trap();
  // The decoder sees every input (not only those of the right size), under the default budget,
  // so stb's parsers are exercised fully; a file inspection refused is never decoded in service.
  (void)verify_decode(bytes, "big_picture_url");
  return 0;
}
