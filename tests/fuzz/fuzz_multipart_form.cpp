// libFuzzer target: a multipart/form-data request as a caller sends it. The first line of the
// input is the Content-Type (so the boundary parameter is fuzzed too), the rest the body.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "image_gateway/api/image_form.hpp"
#include "image_gateway/api/multipart_form.hpp"

namespace {

bool within(std::string_view outer, std::string_view inner) {
  return inner.data() >= outer.data() && inner.data() + inner.size() <= outer.data() + outer.size();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace image_gateway;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::size_t newline = input.find('\n');
  const std::string_view content_type = input.substr(0, newline);
  const std::string_view body_text =
      newline == std::string_view::npos ? std::string_view() : input.substr(newline + 1);

  // The generic parser with small limits, so the limits themselves are reached.
  if (auto boundary = multipart_boundary_of(content_type)) {
    if (boundary.value().empty() || boundary.value().size() > 70) __builtin_trap();
    multipart_limits small;
    small.max_parts = 3;
    small.max_part_header_bytes = 64;
    if (auto parts = parse_multipart_form(body_text, boundary.value(), small)) {
      if (parts.value().size() > small.max_parts) __builtin_trap();
      for (const form_part_view& part : parts.value()) {
        // Every content is a view into the body, and every part is named.
        if (!within(body_text, part.data) || part.name.empty()) __builtin_trap();
      }
    } else if (parts.error().kind != error_kind::bad_form || parts.error().detail.empty()) {
      __builtin_trap();
    }
  }

  // The image form on a shared body, as the gateway runs it.
  const auto body = std::make_shared<const std::string>(body_text);
  auto form = parse_image_form(body, content_type);
  if (form) {
    if (!form.value().big && !form.value().small) __builtin_trap();
    for (const image_kind kind : all_image_kinds) {
      if (form.value().image(kind) && !within(*body, *form.value().image(kind))) __builtin_trap();
      if (form.value().image_bytes(kind).data() !=
          (form.value().image(kind) ? form.value().image(kind)->data() : nullptr)) {
        __builtin_trap();
      }
    }
  } else if (form.error().kind != error_kind::bad_form &&
             form.error().kind != error_kind::missing_parameter) {
    __builtin_trap();
  }
  return 0;
}
