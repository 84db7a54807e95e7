#include "image_gateway/api/image_form.hpp"

#include "image_gateway/api/multipart_form.hpp"

namespace image_gateway {

std::string_view part_field(image_kind kind) { return kind_name(kind); }

shared_bytes image_form::image_bytes(image_kind kind) const {
  const std::optional<std::string_view>& part = image(kind);
  if (!part) return {};
  return shared_bytes(body, *part);
}

std::optional<std::string_view> image_form::field(std::string_view name) const {
  for (const auto& [field_name, value] : fields) {
    if (field_name == name) return value;
  }
  return std::nullopt;
}

result<image_form> parse_image_form(std::shared_ptr<const std::string> body,
                                    std::string_view content_type) {
  auto boundary = multipart_boundary_of(content_type);
  if (!boundary) return boundary.take_error();
  image_form form;
  form.body = std::move(body);
  auto parts = parse_multipart_form(*form.body, boundary.value());
  if (!parts) return parts.take_error();

  // Which of two parts of one name would win is a guess: refused for every name (at most
  // multipart_limits::max_parts parts, so the pairs are few).
  for (std::size_t i = 0; i < parts.value().size(); ++i) {
    for (std::size_t j = 0; j < i; ++j) {
      if (parts.value()[j].name == parts.value()[i].name) {
        return api_error{
            error_kind::bad_form,
            "multipart/form-data body: part \"" + parts.value()[i].name + "\" is given twice",
            std::nullopt};
      }
    }
  }
  for (form_part_view& part : parts.value()) {
    bool is_image = false;
    for (const image_kind kind : all_image_kinds) {
      if (part.name != part_field(kind)) continue;
      (kind == image_kind::big ? form.big : form.small) = part.data;
      is_image = true;
    }
    if (!is_image) form.fields.emplace_back(std::move(part.name), part.data);
  }
  if (!form.big && !form.small) {
    return api_error{error_kind::missing_parameter,
                     "the multipart/form-data body has neither a big_picture nor a "
                     "small_picture part",
                     std::nullopt};
  }
  return form;
}

}  // namespace image_gateway
