#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace image_gateway {

std::string to_lower(std::string_view text);
bool iequals(std::string_view a, std::string_view b);
// Without the spaces and tabs at either end (HTTP's optional whitespace around field values).
std::string_view trim_spaces_and_tabs(std::string_view text);
// Strict RFC 4648 base64 (padding required); nullopt on any other character.
std::optional<std::string> base64_decode(std::string_view text);
std::string base64_encode(std::string_view data);
// application/x-www-form-urlencoded escaping of one value.
std::string form_url_encode(std::string_view value);

}  // namespace image_gateway
