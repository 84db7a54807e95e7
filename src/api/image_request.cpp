#include "image_gateway/api/image_request.hpp"

#include <nlohmann/json.hpp>

#include "image_gateway/fetch/url_policy.hpp"
#include "image_gateway/util/flat_json.hpp"
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

namespace {

// One member of the body as the checks below need it, from either reader.
struct body_field {
  enum class kind { absent, null, string, other } type = kind::absent;
  std::string_view text;  // for a string
};

// The members the request reads, from the body's JSON: a flat object of plain strings (nearly
// every caller) without a tree, anything else with nlohmann.
class body_fields {
 public:
  // bad_json when the body is not an object or gives a key twice.
  static result<body_fields> read(std::string_view body) {
    body_fields fields;
    if (auto flat = read_flat_json_object(body)) {
      if (const auto duplicate = flat->duplicate_key()) return given_twice(*duplicate);
      fields.flat_ = *flat;
      return fields;
    }
    if (nests_too_deep(body)) {
      return api_error{
          error_kind::bad_json,
          "request body nests deeper than " + std::to_string(max_nesting_depth) + " levels",
          {}};
    }
    duplicate_key_watch duplicates;
    fields.tree_ = nlohmann::json::parse(body, duplicates.callback(), /*allow_exceptions=*/false);
    if (fields.tree_.is_discarded() || !fields.tree_.is_object()) return bad_json();
    // One meaning for one body: a reader that keeps the first of two values (a validator in
    // front) must not see other URLs than the ones fetched. Any object, at any depth.
    if (const auto& duplicate = duplicates.first_duplicate()) return given_twice(*duplicate);
    return fields;
  }

  body_field operator[](std::string_view name) const {
    if (flat_) {
      const flat_json_member* member = flat_->find(name);
      if (member == nullptr) return {};
      if (!member->value) return {body_field::kind::null, {}};
      return {body_field::kind::string, *member->value};
    }
    const auto found = tree_.find(name);
    if (found == tree_.end()) return {};
    if (found->is_null()) return {body_field::kind::null, {}};
    if (found->is_string()) return {body_field::kind::string, found->get_ref<const std::string&>()};
    return {body_field::kind::other, {}};
  }

 private:
  static api_error given_twice(std::string_view key) {
    return api_error{
        error_kind::bad_json,
        "key \"" + printable_excerpt(key, 64) + "\" is given twice in the request body",
        {}};
  }

  std::optional<flat_json_object> flat_;
  nlohmann::json tree_;
};

}  // namespace

result<image_request> parse_image_request(std::string_view body) {
  auto read = body_fields::read(body);
  if (!read) return read.take_error();
  const body_fields& json = read.value();
  image_request request;
  for (const image_kind kind : all_image_kinds) {
    const std::string_view field = url_field(kind);
    const body_field found = json[field];
    if (found.type == body_field::kind::absent || found.type == body_field::kind::null) continue;
    if (found.type != body_field::kind::string) {
      return api_error{error_kind::field_invalid, std::string(field) + " must be a string", {}};
    }
    if (found.text.empty()) continue;  // "" means not asked for, like null
    (kind == image_kind::big ? request.big_url : request.small_url) = std::string(found.text);
  }
  if (const body_field fit = json["fit"];
      fit.type != body_field::kind::absent && fit.type != body_field::kind::null) {
    const auto mode = fit.type == body_field::kind::string ? parse_fit(fit.text) : std::nullopt;
    if (!mode) return invalid_fit();
    request.fit = *mode;
  }
  if (const body_field background = json["background"];
      background.type != body_field::kind::absent && background.type != body_field::kind::null) {
    const auto colour =
        background.type == body_field::kind::string ? parse_colour(background.text) : std::nullopt;
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
