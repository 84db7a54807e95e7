#include "image_gateway/api/image_request.hpp"

#include <nlohmann/json.hpp>

#include "image_gateway/fetch/url_policy.hpp"
#include "image_gateway/util/json_duplicates.hpp"
#include "image_gateway/util/strings.hpp"

namespace image_gateway {

namespace {

// nlohmann's parser recurses once per nesting level; a body of 16 MiB of '[' would exhaust the
// stack. Real requests nest one level.
constexpr int max_nesting_depth = 64;

// True when brackets outside strings nest deeper than the limit. Cheap and exact enough: it
// tracks strings and escapes, so brackets inside string values do not count.
bool nests_too_deep(std::string_view body) {
  int depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (const char c : body) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    switch (c) {
      case '"':
        in_string = true;
        break;
      case '[':
      case '{':
        if (++depth > max_nesting_depth) return true;
        break;
      case ']':
      case '}':
        --depth;
        break;
      default:
        break;
    }
  }
  return false;
}

api_error bad_json() { return {error_kind::bad_json, "request body is not a JSON object", {}}; }

}  // namespace

api_error invalid_fit() {
  return {error_kind::field_invalid, R"(fit must be one of "none", "contain", "cover")", {}};
}

api_error invalid_background() {
  return {error_kind::field_invalid, R"(background must be a colour "#RRGGBB")", {}};
}

result<image_request> parse_image_request(std::string_view body) {
  if (nests_too_deep(body)) {
    return api_error{
        error_kind::bad_json,
        "request body nests deeper than " + std::to_string(max_nesting_depth) + " levels",
        {}};
  }
  duplicate_key_watch duplicates;
  const nlohmann::json json =
      nlohmann::json::parse(body, duplicates.callback(), /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.is_object()) return bad_json();
  // One meaning for one body: a reader that keeps the first of two values (a validator in
  // front) must not see other URLs than the ones fetched. Any object, at any depth.
  if (const auto& duplicate = duplicates.first_duplicate()) {
    return api_error{
        error_kind::bad_json,
        "key \"" + printable_excerpt(*duplicate, 64) + "\" is given twice in the request body",
        {}};
  }

  image_request request;
  for (const image_kind kind : all_image_kinds) {
    const std::string_view field = url_field(kind);
    const auto found = json.find(field);
    if (found == json.end() || found->is_null()) continue;
    if (!found->is_string()) {
      return api_error{error_kind::field_invalid, std::string(field) + " must be a string", {}};
    }
    const auto& text = found->get_ref<const std::string&>();
    if (text.empty()) continue;  // "" means not asked for, like null
    (kind == image_kind::big ? request.big_url : request.small_url) = text;
  }
  if (const auto fit = json.find("fit"); fit != json.end() && !fit->is_null()) {
    const auto mode =
        fit->is_string() ? parse_fit(fit->get_ref<const std::string&>()) : std::nullopt;
    if (!mode) return invalid_fit();
    request.fit = *mode;
  }
  if (const auto background = json.find("background");
      background != json.end() && !background->is_null()) {
    const auto colour = background->is_string()
                            ? parse_colour(background->get_ref<const std::string&>())
                            : std::nullopt;
    if (!colour) return invalid_background();
    request.background = *colour;
  }
  if (!request.big_url && !request.small_url) {
    return api_error{error_kind::missing_parameter,
                     "neither big_picture_url nor small_picture_url was given",
                     {}};
  }
  for (const image_kind kind : all_image_kinds) {
    std::optional<std::string>& url = kind == image_kind::big ? request.big_url : request.small_url;
    if (!url) continue;
    url_check checked = check_url(*url);
    if (checked.refusal) {
      return api_error{
          error_kind::url_invalid, std::string(url_field(kind)) + ": " + *checked.refusal, {}};
    }
    *url = std::move(checked.parts->normalised);  // what curl will connect to, as it reads it
  }
  return request;
}

}  // namespace image_gateway
