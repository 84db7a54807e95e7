#include "image_gateway/api/http_types.hpp"

namespace image_gateway {

std::string_view api_request::header(std::string_view lower_case_name) const {
  for (const auto& [name, value] : headers) {
    if (name == lower_case_name) return value;
  }
  return {};
}

}  // namespace image_gateway
